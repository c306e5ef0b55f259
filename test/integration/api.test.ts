/**
 * The HTTP contract of the job endpoints, over real HTTP through the local gateway and each
 * function's functions-framework stack, against a real PostgreSQL.
 */
import { randomBytes } from 'node:crypto';
import { revokeApiKey } from '../../shared/auth/api-keys';
import { closeRedis } from '../../shared/cache/redis';
import { setClock } from '../../shared/clock';
import { resetConfig } from '../../shared/config';
import { loadFunction } from '../../functions';
import { startStack, Stack } from '../../shared/local/stack';
import { closeTestEnv, newTenantKey, TestEnv, useTestEnv } from '../support/database';
import { rateLimitCases } from '../support/rate-limit-cases';

let env: TestEnv;
let stack: Stack;
let key: string;

const body = {
  video_url: 'https://videos.example.com/in/clip.mp4',
  voice_text: 'Welcome to the launch of our new product.',
};

async function call(
  method: string,
  path: string,
  opts: { key?: string | null; json?: unknown; raw?: string; headers?: Record<string, string> } = {},
) {
  const headers: Record<string, string> = { ...opts.headers };
  const k = opts.key === undefined ? key : opts.key;
  if (k) headers.authorization = `Bearer ${k}`;
  let payload: string | undefined = opts.raw;
  if (opts.json !== undefined) payload = JSON.stringify(opts.json);
  if (payload !== undefined) headers['content-type'] ??= 'application/json';
  const res = await fetch(`${stack.url}${path}`, { method, headers, body: payload });
  const text = await res.text();
  let parsed: Record<string, unknown> = {};
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = { text };
  }
  return { status: res.status, headers: res.headers, body: parsed as Record<string, any> };
}

beforeAll(async () => {
  // Counters of this run apart from any other run's in a shared Redis.
  env = await useTestEnv({ AIPROD_RATE_LIMIT_PREFIX: `rl-test-${randomBytes(6).toString('hex')}:` });
  stack = await startStack({ loadFunction, port: 0, dataDir: env.dataDir, maintenanceSeconds: 0 });
  // The contract is about acceptance; keep the jobs queued rather than processed.
  await stack.bus.stop();
  key = (await newTenantKey(env.db)).key;
});

afterAll(async () => {
  await stack.stop();
  await closeTestEnv();
});

describe('authentication', () => {
  it.each([
    ['no key', null],
    ['a malformed key', 'nope'],
    ['an unknown key', 'sk_live_AAAAAAAAAAAA_' + 'A'.repeat(43)],
  ])('answers 401 problem+json for %s', async (_what, k) => {
    const r = await call('POST', '/pipeline/run', { key: k, json: body });
    expect(r.status).toBe(401);
    expect(r.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect(r.body).toMatchObject({ status: 401, code: 'unauthorized' });
    expect(r.headers.get('www-authenticate')).toMatch(/Bearer/);
  });

  it('refuses a revoked key', async () => {
    const other = await newTenantKey(env.db);
    expect((await call('GET', '/pipeline/00000000-0000-4000-8000-000000000000', { key: other.key })).status).toBe(404);
    await revokeApiKey(env.db, other.keyId);
    expect((await call('GET', '/pipeline/00000000-0000-4000-8000-000000000000', { key: other.key })).status).toBe(401);
  });

  it('refuses a key whose secret half is wrong', async () => {
    const wrong = key.slice(0, -4) + (key.endsWith('AAAA') ? 'BBBB' : 'AAAA');
    expect((await call('POST', '/pipeline/run', { key: wrong, json: body })).status).toBe(401);
  });
});

describe('POST /pipeline/run', () => {
  it('accepts a job: 202, job id, PENDING, estimate, and an outbox row published to pipeline-jobs', async () => {
    const r = await call('POST', '/pipeline/run', { json: body });
    expect(r.status).toBe(202);
    expect(r.body).toEqual({
      job_id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      status: 'PENDING',
      estimated_duration: expect.any(Number),
    });
    expect(r.headers.get('location')).toBe(`/pipeline/${r.body.job_id}`);
    expect(r.headers.get('etag')).toBeNull(); // no conditional request can be made of it
    const outbox = await env.db('outbox').whereRaw("payload->>'job_id' = ?", [r.body.job_id]).first();
    expect(outbox).toMatchObject({ topic: 'pipeline-jobs' });
    expect(outbox.published_at).not.toBeNull();
    const delivery = await env
      .db('bus_messages')
      .where({ subscription: 'job-processor-push' })
      .whereRaw("convert_from(decode(data, 'base64'), 'UTF8')::jsonb->>'job_id' = ?", [r.body.job_id]);
    expect(delivery).toHaveLength(1);
  });

  it('answers 422 with one error per bad field and a stable code', async () => {
    const r = await call('POST', '/pipeline/run', {
      json: { video_url: 'ftp://x/y.mp4', voice_text: 'Hi', voice_language: 'xx' },
    });
    expect(r.status).toBe(422);
    expect(r.body.code).toBe('validation_failed');
    expect(r.body.errors.map((e: { field: string }) => e.field).sort()).toEqual([
      'video_url',
      'voice_language',
      'voice_text',
    ]);
  });

  it('keeps the metadata with the job, and refuses bad metadata field by field', async () => {
    const metadata = { order_id: 'PO-77', 'utm.source': 'newsletter' };
    const ok = await call('POST', '/pipeline/run', { json: { ...body, metadata } });
    expect(ok.status).toBe(202);
    expect((await call('GET', `/pipeline/${ok.body.job_id}`)).body.metadata).toEqual(metadata);
    const r = await call('POST', '/pipeline/run', {
      json: { ...body, metadata: { 'no spaces': 'x', count: 3, note: 'n'.repeat(501) } },
    });
    expect(r.status).toBe(422);
    expect(r.body.errors).toEqual([
      expect.objectContaining({ field: 'metadata.no spaces', code: 'invalid_key' }),
      expect.objectContaining({ field: 'metadata.count', code: 'invalid_type' }),
      expect.objectContaining({ field: 'metadata.note', code: 'too_long' }),
    ]);
    const many = Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, 'v']));
    const tooMany = await call('POST', '/pipeline/run', { json: { ...body, metadata: many } });
    expect(tooMany.body.errors).toEqual([expect.objectContaining({ field: 'metadata', code: 'too_many_keys' })]);
  });

  it('answers 400 for malformed JSON', async () => {
    const r = await call('POST', '/pipeline/run', { raw: '{"video_url": ' });
    expect(r.status).toBe(400);
  });

  it('answers 415 for a body that is not JSON', async () => {
    const r = await call('POST', '/pipeline/run', { raw: 'video_url=x', headers: { 'content-type': 'text/plain' } });
    expect(r.status).toBe(415);
    expect(r.body.code).toBe('unsupported_media_type');
  });

  it('answers 413 for a body over the limit', async () => {
    const r = await call('POST', '/pipeline/run', { json: { ...body, voice_text: 'a'.repeat(300 * 1024) } });
    expect(r.status).toBe(413);
    expect(r.body.code).toBe('payload_too_large');
  });

  it('refuses at submit a language the configured voice engine cannot speak', async () => {
    const r = await call('POST', '/pipeline/run', { json: { ...body, voice_language: 'ja' } });
    expect(r.status).toBe(422);
    expect(r.body.code).toBe('unsupported_language');
    expect(r.body.errors).toEqual([expect.objectContaining({ field: 'voice_language', code: 'unsupported_language' })]);
  });

  it('refuses at submit a voice the configured engine does not offer for the language, and takes one it does', async () => {
    const before = await env.db('jobs').count<{ count: string }[]>('* as count');
    const unknown = await call('POST', '/pipeline/run', { json: { ...body, voice_id: 'fr-FR-Wavenet-A' } });
    expect(unknown.status).toBe(422);
    expect(unknown.headers.get('content-type')).toMatch(/problem\+json/);
    expect(unknown.body.code).toBe('unknown_voice');
    expect(unknown.body.errors).toEqual([expect.objectContaining({ field: 'voice_id', code: 'unknown_voice' })]);
    expect(unknown.body.detail).toContain('slt');
    expect(await env.db('jobs').count<{ count: string }[]>('* as count')).toEqual(before);

    const chosen = await call('POST', '/pipeline/run', { json: { ...body, voice_id: 'awb', voice_rate: 1.25 } });
    expect(chosen.status).toBe(202);
    const row = await env.db('jobs').where({ id: chosen.body.job_id }).first();
    expect(row.request).toMatchObject({ voice_id: 'awb', voice_rate: 1.25 });

    const tooFast = await call('POST', '/pipeline/run', { json: { ...body, voice_rate: 1.3 } });
    expect(tooFast.status).toBe(422);
    expect(tooFast.body.errors).toEqual([expect.objectContaining({ field: 'voice_rate' })]);
  });

  it('checks each voice track at submit, naming the track', async () => {
    const before = await env.db('jobs').count<{ count: string }[]>('* as count');
    const tracks = [
      { language: 'en', text: 'Welcome to the harbour.' },
      { language: 'ja', text: 'Hello in Japanese.' },
      { language: 'fr', text: 'Bienvenue au port.', voice_id: 'fr-FR-Wavenet-A' },
    ];
    const unspoken = await call('POST', '/pipeline/run', { json: { video_url: body.video_url, voice_tracks: tracks } });
    expect(unspoken.status).toBe(422);
    expect(unspoken.body.code).toBe('unsupported_language');
    expect(unspoken.body.errors).toEqual([
      expect.objectContaining({ field: 'voice_tracks.1.language', code: 'unsupported_language' }),
    ]);
    const unknown = await call('POST', '/pipeline/run', {
      json: { video_url: body.video_url, voice_tracks: [tracks[0], tracks[2]] },
    });
    expect(unknown.status).toBe(422);
    expect(unknown.body.errors).toEqual([
      expect.objectContaining({ field: 'voice_tracks.1.voice_id', code: 'unknown_voice' }),
    ]);
    expect(await env.db('jobs').count<{ count: string }[]>('* as count')).toEqual(before);

    const taken = await call('POST', '/pipeline/run', {
      json: { video_url: body.video_url, voice_tracks: [tracks[0], { ...tracks[2], voice_id: 'awb' }], captions: true },
    });
    expect(taken.status).toBe(202);
    const row = await env.db('jobs').where({ id: taken.body.job_id }).first();
    expect(row.request).toMatchObject({ voice_tracks: [tracks[0], { ...tracks[2], voice_id: 'awb' }], captions: true });
  });

  it("refuses at submit a still's script line that starts after its end", async () => {
    const still = { recipe: 'still', image_url: 'https://img.example.com/cover.jpg', duration_seconds: 8 };
    const late = await call('POST', '/pipeline/run', {
      json: {
        ...still,
        voice_script: [
          { start_seconds: 1, text: 'In time.' },
          { start_seconds: 8, text: 'Too late.' },
        ],
      },
    });
    expect(late.status).toBe(422);
    expect(late.body.code).toBe('voice_too_long');
    expect(late.body.errors).toEqual([
      expect.objectContaining({ field: 'voice_script.1.start_seconds', code: 'voice_too_long' }),
    ]);
    const fits = await call('POST', '/pipeline/run', {
      json: { ...still, voice_script: [{ start_seconds: 7.5, text: 'Just in time.' }] },
    });
    expect(fits.status).toBe(202);
  });

  it('accepts the other recipes, each with its own fields', async () => {
    const audio = await call('POST', '/pipeline/run', {
      json: { recipe: 'extract_audio', video_url: body.video_url, format: 'mp3' },
    });
    expect(audio.status).toBe(202);
    const still = await call('POST', '/pipeline/run', {
      json: { recipe: 'still', image_url: 'https://img.example.com/cover.jpg', duration_seconds: 20 },
    });
    expect(still.status).toBe(202);
    const row = await env.db('jobs').where({ id: still.body.job_id }).first();
    expect(row.recipe).toBe('still');
    const wrong = await call('POST', '/pipeline/run', {
      json: { recipe: 'still', video_url: body.video_url, duration_seconds: 20 },
    });
    expect(wrong.status).toBe(422);
    expect(wrong.body.errors.map((e: { field: string }) => e.field).sort()).toEqual(['image_url', 'video_url']);
  });

  it("refuses a gs:// input that is not the tenant's own upload", async () => {
    const r = await call('POST', '/pipeline/run', {
      json: { ...body, video_url: 'gs://aiprod-uploads/someone-else/clip.mp4' },
    });
    expect(r.status).toBe(422);
    expect(r.body.errors[0]).toMatchObject({ field: 'video_url', code: 'not_your_object' });
  });
});

describe('Idempotency-Key', () => {
  it('returns the same job for a retried request, without a second job', async () => {
    const headers = { 'idempotency-key': 'order-1234' };
    const a = await call('POST', '/pipeline/run', { json: body, headers });
    const b = await call('POST', '/pipeline/run', {
      json: { voice_text: body.voice_text, video_url: body.video_url },
      headers,
    });
    expect(a.status).toBe(202);
    expect(b.status).toBe(202);
    expect(b.body.job_id).toBe(a.body.job_id);
  });

  it('answers 422 idempotency_key_reused for the same key with another body', async () => {
    const headers = { 'idempotency-key': 'order-5678' };
    expect((await call('POST', '/pipeline/run', { json: body, headers })).status).toBe(202);
    const r = await call('POST', '/pipeline/run', { json: { ...body, music_style: 'jazz' }, headers });
    expect(r.status).toBe(422);
    expect(r.body.code).toBe('idempotency_key_reused');
  });

  it('answers 409 while the first request with the key is still in flight', async () => {
    const headers = { 'idempotency-key': 'order-in-flight' };
    const first = await call('POST', '/pipeline/run', { json: body, headers });
    // Put the key back in the state a request that has not committed yet leaves it in.
    await env.db('idempotency_keys').where({ key: 'order-in-flight' }).update({ job_id: null });
    const r = await call('POST', '/pipeline/run', { json: body, headers });
    expect(r.status).toBe(409);
    expect(r.body.code).toBe('idempotency_key_in_flight');
    expect(first.status).toBe(202);
  });

  it('keeps keys per tenant', async () => {
    const other = await newTenantKey(env.db);
    const headers = { 'idempotency-key': 'shared-key' };
    const a = await call('POST', '/pipeline/run', { json: body, headers });
    const b = await call('POST', '/pipeline/run', { key: other.key, json: body, headers });
    expect(b.body.job_id).not.toBe(a.body.job_id);
  });
});

describe('GET /pipeline/{id} and /result', () => {
  let jobId: string;
  beforeAll(async () => {
    jobId = (await call('POST', '/pipeline/run', { json: body })).body.job_id;
  });

  it('shows the status', async () => {
    const r = await call('GET', `/pipeline/${jobId}`);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      job_id: jobId,
      status: 'PENDING',
      progress: 0,
      stage: 'queued',
      metadata: {},
      created_at: expect.any(String),
      started_at: null,
      completed_at: null,
      events_url: expect.stringMatching(new RegExp(`^http://localhost:\\d+/pipeline/${jobId}/events\\?token=`)),
      events_url_expires_at: expect.any(String),
    });
    expect(r.body.error).toBeUndefined();
    expect(r.headers.get('etag')).toMatch(/^W\/"/);
  });

  it("hides another tenant's job behind the same 404 as a missing one", async () => {
    const other = await newTenantKey(env.db);
    const theirs = await call('GET', `/pipeline/${jobId}`, { key: other.key });
    const missing = await call('GET', '/pipeline/6f1c1d1e-0000-4000-8000-000000000000');
    expect(theirs.status).toBe(404);
    expect(missing.status).toBe(404);
    expect(theirs.body.code).toBe(missing.body.code);
    expect((await call('GET', `/pipeline/${jobId}/result`, { key: other.key })).status).toBe(404);
  });

  it('answers 404, not 500, for an id that is not a UUID', async () => {
    expect((await call('GET', '/pipeline/not-a-uuid')).status).toBe(404);
  });

  it('answers 202 with Retry-After while the job is not finished', async () => {
    const r = await call('GET', `/pipeline/${jobId}/result`);
    expect(r.status).toBe(202);
    expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it("answers with the job's failure code once it FAILED", async () => {
    await env.db('jobs').where({ id: jobId }).update({
      status: 'FAILED',
      error_code: 'not_a_video',
      error_message: 'The input has no video stream.',
      completed_at: env.db.fn.now(),
    });
    const status = await call('GET', `/pipeline/${jobId}`);
    expect(status.body).toMatchObject({ status: 'FAILED', error: { code: 'not_a_video' } });
    const r = await call('GET', `/pipeline/${jobId}/result`);
    expect(r.status).toBe(422);
    expect(r.headers.get('content-type')).toMatch(/problem\+json/);
    expect(r.body.code).toBe('not_a_video');
  });
});

describe('public endpoints and the gateway', () => {
  it('GET /presets lists languages, styles and presets with their targets', async () => {
    const r = await call('GET', '/presets', { key: null });
    expect(r.status).toBe(200);
    // The embedded default speaks with flite, which has no Japanese or Chinese voice.
    expect(r.body.languages).toEqual(['en', 'fr', 'es', 'de', 'it', 'pt']);
    expect(r.body.voice_engine).toBe('local');
    expect(r.body.voice_engines).toContainEqual(
      expect.objectContaining({ name: 'google', languages: expect.arrayContaining(['ja', 'zh']), configured: false }),
    );
    // The voices a dub may name, per language the configured engine speaks, the default first.
    expect(Object.keys(r.body.voices)).toEqual(r.body.languages);
    expect(r.body.voices.de[0]).toBe('slt');
    expect(r.body.voices.de).toEqual(expect.arrayContaining(['rms', 'awb']));
    const google = r.body.voice_engines.find((e: { name: string }) => e.name === 'google');
    expect(google.voices.ja).toEqual(expect.arrayContaining(['ja-JP-Wavenet-A']));
    expect(google.voices.zh.every((v: string) => v.startsWith('cmn-CN-'))).toBe(true);
    expect(r.body.recipes).toEqual(['dub', 'extract_audio', 'still']);
    expect(r.body.music_styles).toEqual(expect.arrayContaining(['orchestral', 'none']));
    expect(r.body.original_audio_modes).toEqual(['replace', 'duck', 'keep']);
    expect(r.body.effects_presets).toContainEqual(
      expect.objectContaining({ name: 'standard', target_lufs: -14, true_peak_dbtp: -1 }),
    );
    expect(r.body.voice).toEqual({
      rates: { min: 0.8, max: 1.25 },
      max_tracks: 8,
      max_characters: 10_000,
      max_script_lines: 200,
      max_cue_speedup: 1.15,
    });
    expect(r.body.captions).toEqual({ formats: ['webvtt', 'srt'], max_lines: 2, max_line_characters: 42 });
  });

  it.each(['/health', '/health/live', '/health/ready'])('GET %s answers 200', async (path) => {
    const r = await call('GET', path, { key: null });
    expect(r.status).toBe(200);
    expect(r.body.status).toBe('ok');
  });

  it('sets security headers and a request id', async () => {
    const r = await call('GET', '/health', { key: null });
    expect(r.headers.get('x-content-type-options')).toBe('nosniff');
    expect(r.headers.get('strict-transport-security')).toBeTruthy();
    expect(r.headers.get('x-request-id')).toBeTruthy();
    expect(r.headers.get('x-powered-by')).toBeNull();
  });

  it('answers 404 problem+json for an unknown path and 405 for a wrong method', async () => {
    const unknown = await call('GET', '/nowhere', { key: null });
    expect(unknown.status).toBe(404);
    expect(unknown.body.code).toBe('not_found');
    const wrong = await call('DELETE', '/presets', { key: null });
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('GET');
  });
});

describe('rate limits by tier, counted in memory while REDIS_URL is unset', () => {
  const redisUrl = process.env.REDIS_URL;
  beforeAll(async () => {
    delete process.env.REDIS_URL;
    resetConfig();
    await closeRedis();
  });
  afterAll(async () => {
    if (redisUrl) process.env.REDIS_URL = redisUrl;
    resetConfig();
    await closeRedis();
  });

  rateLimitCases(() => ({ stack, env }));

  it('counts job submits in the same submit budget', async () => {
    const free = await newTenantKey(env.db, 'free');
    const at = Date.UTC(2031, 0, 6, 9, 30, 5);
    setClock(() => at);
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 10; i++)
        statuses.push((await call('POST', '/pipeline/run', { key: free.key, json: body })).status);
      expect(statuses).toEqual(Array(10).fill(202));
      const refused = await call('POST', '/pipeline/run', { key: free.key, json: body });
      expect(refused.status).toBe(429);
      expect(refused.body).toMatchObject({ code: 'rate_limited', instance: '/pipeline/run' });
      expect(refused.headers.get('retry-after')).toBe('55');
    } finally {
      setClock();
    }
  });
});
