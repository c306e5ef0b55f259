/**
 * The sweeper's retention against the real database and the real local object store: rows aged by
 * moving their timestamps back, output and upload files really removed, everything younger than
 * its period left alone, two sweeps at once splitting the work, and the partner's view of an
 * expired job.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { loadFunction } from '../../functions';
import { config } from '../../shared/config';
import { sweep, type SweepReport } from '../../shared/jobs/sweep';
import type { StoredResult } from '../../shared/jobs/views';
import { logger } from '../../shared/log';
import { applyRetention } from '../../shared/maintenance/retention';
import { localStore, objectStore } from '../../shared/platform';
import { uploadKey } from '../../shared/uploads/location';
import { usageReport } from '../../shared/usage/report';
import { closeTestEnv, newTenantKey, TestEnv, useTestEnv } from '../support/database';

let env: TestEnv;
let sample: string;
let tenant: { key: string; tenantId: string; keyId: string };

beforeAll(async () => {
  env = await useTestEnv();
  sample = join(mkdtempSync(join(tmpdir(), 'aiprod-retention-')), 'output.mp4');
  writeFileSync(sample, randomBytes(2048));
  tenant = await newTenantKey(env.db, 'pro');
});
afterAll(closeTestEnv);

const store = () => localStore();
const outputs = () => config().AIPROD_OUTPUTS_BUCKET;
const uploads = () => config().AIPROD_UPLOADS_BUCKET;
const ago = (days: number) => env.db.raw('now() - make_interval(secs => ?)', [days * 86_400]);
const fileOf = (bucket: string, key: string) => store().filePath(bucket, key);

/**
 * An ended job as the job-processor leaves it, its output file (and, `withCaptions`, one track's
 * caption sidecars) stored, ended `daysAgo` days ago.
 */
async function endedJob(daysAgo: number, status: 'COMPLETED' | 'FAILED' = 'COMPLETED', withCaptions = false) {
  const id = randomUUID();
  const key = `jobs/${tenant.tenantId}/${id}/output.mp4`;
  const captions = {
    webvtt_key: `jobs/${tenant.tenantId}/${id}/captions.en.vtt`,
    srt_key: `jobs/${tenant.tenantId}/${id}/captions.en.srt`,
  };
  let result: StoredResult | null = null;
  if (status === 'COMPLETED') {
    const { sizeBytes } = await store().put(outputs(), key, sample, 'video/mp4');
    if (withCaptions) {
      await store().put(outputs(), captions.webvtt_key, sample, 'text/vtt');
      await store().put(outputs(), captions.srt_key, sample, 'application/x-subrip');
    }
    result = {
      bucket: outputs(),
      key,
      content_type: 'video/mp4',
      size_bytes: sizeBytes,
      duration_seconds: 12.5,
      video: { codec: 'h264', width: 320, height: 240, fps: 25, copied: true },
      audio: { codec: 'aac', sample_rate: 48000, channels: 2 },
      loudness: { integrated_lufs: -14, true_peak_dbtp: -1.2, lra: 4, target_lufs: -14 },
      ...(withCaptions
        ? {
            tracks: [
              {
                language: 'en',
                audio: { codec: 'aac', sample_rate: 48000, channels: 2 },
                loudness: { integrated_lufs: -14, true_peak_dbtp: -1.2, lra: 4, target_lufs: -14 },
                captions: { ...captions, burned: false },
              },
            ],
          }
        : {}),
    };
  }
  await env.db('jobs').insert({
    id,
    tenant_id: tenant.tenantId,
    status,
    recipe: 'dub',
    request: JSON.stringify({ video_url: 'https://cdn.example.com/in/clip.mp4', voice_text: 'The partner script.' }),
    metadata: JSON.stringify({ order: id.slice(0, 8) }),
    progress: status === 'COMPLETED' ? 100 : 40,
    stage: status === 'COMPLETED' ? 'done' : 'mixing',
    result: result ? JSON.stringify(result) : null,
    error_code: status === 'FAILED' ? 'ffmpeg_failed' : null,
    error_message: status === 'FAILED' ? 'ffmpeg exited with code 1' : null,
    created_at: ago(daysAgo + 0.01),
    started_at: ago(daysAgo + 0.005),
    completed_at: ago(daysAgo),
    updated_at: ago(daysAgo),
  });
  return { id, key, captions };
}

async function webhookId(): Promise<string> {
  const id = randomUUID();
  await env.db('webhooks').insert({
    id,
    tenant_id: tenant.tenantId,
    url: 'https://hooks.example.com/aiprod',
    events: ['job.completed'],
    signing: 'hmac',
    secret: JSON.stringify({ sealed: 'test' }),
  });
  return id;
}

/** `count` deliveries of one webhook, each with one attempt, made `daysAgo` days ago. */
async function deliveries(webhook: string, count: number, daysAgo: number, state = 'succeeded'): Promise<void> {
  await env.db.raw(
    `WITH d AS (
       INSERT INTO webhook_deliveries (id, webhook_id, tenant_id, event_id, event_type, body, state, attempts, created_at)
       SELECT gen_random_uuid(), ?, ?, 'evt_' || md5(random()::text), 'job.completed', '{}', ?, 1,
              now() - make_interval(secs => ?)
       FROM generate_series(1, ?) RETURNING id)
     INSERT INTO webhook_attempts (delivery_id, status_code, latency_ms) SELECT id, 200, 35 FROM d`,
    [webhook, tenant.tenantId, state, daysAgo * 86_400, count],
  );
}

async function idempotencyKeys(count: number, hoursAgo: number): Promise<void> {
  await env.db.raw(
    `INSERT INTO idempotency_keys (tenant_id, key, fingerprint, created_at)
     SELECT ?, 'key-' || md5(random()::text), 'print', now() - make_interval(secs => ?) FROM generate_series(1, ?)`,
    [tenant.tenantId, hoursAgo * 3600, count],
  );
}

/** Outbox rows published (or not, `published: false`) `minutesAgo` minutes ago. */
async function outboxRows(count: number, minutesAgo: number, published = true): Promise<void> {
  await env.db.raw(
    `INSERT INTO outbox (topic, payload, created_at, published_at, next_attempt_at)
     SELECT 'pipeline-jobs', '{}', now() - make_interval(secs => ?),
            CASE WHEN ? THEN now() - make_interval(secs => ?) END, now() + interval '1 hour'
     FROM generate_series(1, ?)`,
    [minutesAgo * 60, published, minutesAgo * 60, count],
  );
}

/** Bus rows delivered `minutesAgo` minutes ago, or still waiting, or dead-lettered. */
async function busRows(count: number, minutesAgo: number, state: 'delivered' | 'waiting' | 'dead'): Promise<void> {
  await env.db.raw(
    `INSERT INTO bus_messages (subscription, topic, data, published_at, next_attempt_at, delivered_at, dead_lettered_at)
     SELECT 'sweeper-push', 'maintenance', 'e30=', now() - make_interval(secs => ?), now() + interval '1 hour',
            CASE WHEN ? = 'delivered' THEN now() - make_interval(secs => ?) END,
            CASE WHEN ? = 'dead' THEN now() - make_interval(secs => ?) END
     FROM generate_series(1, ?)`,
    [minutesAgo * 60, state, minutesAgo * 60, state, minutesAgo * 60, count],
  );
}

/** A login token (an api_keys row of a signed-in user) expiring `hoursFromNow` from now (negative: expired). */
async function loginToken(hoursFromNow: number): Promise<string> {
  const uid = `uid-${randomBytes(4).toString('hex')}`;
  await env.db('tenant_users').insert({ uid, tenant_id: tenant.tenantId });
  const [row] = await env
    .db('api_keys')
    .insert({
      tenant_id: tenant.tenantId,
      lookup: randomBytes(6).toString('hex'),
      secret_hash: randomBytes(32),
      user_uid: uid,
      expires_at: env.db.raw('now() + make_interval(secs => ?)', [hoursFromNow * 3600]),
    })
    .returning(['id']);
  return row.id as string;
}

/** An upload handed out `daysAgo` days ago, its file stored. */
async function upload(daysAgo: number): Promise<{ id: string; key: string }> {
  const id = randomUUID();
  const key = uploadKey({ tenantId: tenant.tenantId, uploadId: id, filename: 'clip.mp4' });
  await store().put(uploads(), key, sample, 'video/mp4');
  await env.db('uploads').insert({
    id,
    tenant_id: tenant.tenantId,
    filename: 'clip.mp4',
    content_type: 'video/mp4',
    size_bytes: 2048,
    created_at: ago(daysAgo),
    expires_at: ago(daysAgo - 0.1),
  });
  return { id, key };
}

const count = async (table: string): Promise<number> => Number((await env.db(table).count('* as n'))[0]!.n);

it('removes what outlived its period, in one logged sweep, and leaves everything younger', async () => {
  // 120 expired jobs: more than one batch of them.
  const old = await Promise.all(Array.from({ length: 120 }, () => endedJob(31)));
  const oldFailed = await endedJob(40, 'FAILED');
  const young = await Promise.all(Array.from({ length: 3 }, () => endedJob(29)));
  const waiting = randomUUID();
  await env.db('jobs').insert({
    id: waiting,
    tenant_id: (await newTenantKey(env.db, 'pro')).tenantId,
    status: 'PENDING',
    request: JSON.stringify({ video_url: 'https://cdn.example.com/in/clip.mp4', voice_text: 'Still waiting.' }),
    // Submitted long ago, but its turn is not lost (recently updated): the sweep gives it none.
    created_at: ago(45),
  });
  const webhook = await webhookId();
  await deliveries(webhook, 1100, 31);
  await deliveries(webhook, 2, 31, 'pending');
  await deliveries(webhook, 3, 29);
  await idempotencyKeys(1500, 25);
  await idempotencyKeys(4, 23);
  await outboxRows(1200, 90);
  await outboxRows(5, 30);
  await outboxRows(2, 90, false);
  await busRows(1300, 90, 'delivered');
  await busRows(6, 30, 'delivered');
  await busRows(2, 90, 'waiting');
  await busRows(3, 90, 'dead');
  await busRows(4, 7 * 24 * 60 + 10, 'dead');
  await busRows(2, 7 * 24 * 60 - 10, 'dead');
  const expiredLogin = await loginToken(-1);
  const liveLogin = await loginToken(1);
  const oldUpload = await upload(8);
  const youngUpload = await upload(6);
  await env.db('usage_daily').insert({
    tenant_id: tenant.tenantId,
    day: env.db.raw("(now() - interval '40 days')::date"),
    endpoint: 'POST /pipeline/run',
    calls: 7,
    cost_micros: 700,
  });
  const attemptsBefore = await count('webhook_attempts');
  const before = {
    jobs: await count('jobs'),
    deliveries: await count('webhook_deliveries'),
    idempotency: await count('idempotency_keys'),
    outbox: await count('outbox'),
    bus: await count('bus_messages'),
  };

  const info = jest.spyOn(logger(), 'info');
  const report = await sweep(env.db);
  const lines = (info.mock.calls as unknown[][]).filter(([message]) => message === 'sweep');
  info.mockRestore();

  expect(report.retention).toEqual({
    jobs: 121,
    outputs: 120,
    uploads: 1,
    objectsFailed: 0,
    deliveries: 1100,
    idempotencyKeys: 1500,
    logins: 1,
    outbox: 1200,
    busMessages: 1300,
    deadLetters: 4,
  });
  // One line per tick, with every step's count and the time it took.
  expect(lines).toHaveLength(1);
  expect(lines[0]![1]).toEqual({ event: 'maintenance.sweep', ...report, durationMs: expect.any(Number) });

  // Outputs gone from the bucket; the rows stay, their request cleared, their status and facts kept.
  for (const { key } of old) expect(existsSync(fileOf(outputs(), key))).toBe(false);
  const expired = await env.db('jobs').whereIn('id', [...old.map((j) => j.id), oldFailed.id]);
  expect(expired).toHaveLength(121);
  for (const job of expired) {
    expect(job.expired_at).not.toBeNull();
    expect(job.request).toEqual({});
    expect(job.metadata).toEqual({ order: job.id.slice(0, 8) });
  }
  expect(expired.find((j) => j.id === oldFailed.id)).toMatchObject({ status: 'FAILED', error_code: 'ffmpeg_failed' });
  expect(expired.find((j) => j.id === old[0]!.id)).toMatchObject({
    status: 'COMPLETED',
    result: expect.objectContaining({ duration_seconds: 12.5 }),
  });
  // GET /usage still counts the expired jobs' media seconds.
  const day = (d: number) => new Date(Date.now() - d * 86_400_000).toISOString().slice(0, 10);
  const usage = await usageReport(env.db, tenant.tenantId, { from: day(32), to: day(30), groupBy: 'day' });
  expect(usage.total.media_seconds).toBeCloseTo(120 * 12.5, 3);

  // Everything inside its period, or not done yet, is untouched.
  for (const { key } of young) expect(existsSync(fileOf(outputs(), key))).toBe(true);
  const kept = await env.db('jobs').whereIn('id', [...young.map((j) => j.id), waiting]);
  for (const job of kept) {
    expect(job.expired_at).toBeNull();
    expect(job.request).toHaveProperty('voice_text');
  }
  expect(await count('jobs')).toBe(before.jobs);
  expect(await count('webhook_deliveries')).toBe(before.deliveries - 1100);
  expect(await count('webhook_attempts')).toBe(attemptsBefore - 1100);
  expect(await env.db('webhook_deliveries').where({ state: 'pending' })).toHaveLength(2);
  expect(await count('idempotency_keys')).toBe(before.idempotency - 1500);
  expect(await count('outbox')).toBe(before.outbox - 1200);
  expect(await env.db('outbox').whereNull('published_at')).toHaveLength(2);
  expect(await count('bus_messages')).toBe(before.bus - 1300 - 4);
  expect(await env.db('bus_messages').whereNull('delivered_at').whereNull('dead_lettered_at')).toHaveLength(2);
  expect(await env.db('bus_messages').whereNotNull('dead_lettered_at')).toHaveLength(3 + 2);
  expect(await env.db('api_keys').where({ id: expiredLogin })).toHaveLength(0);
  expect(await env.db('api_keys').where({ id: liveLogin })).toHaveLength(1);
  expect(await env.db('api_keys').where({ id: tenant.keyId })).toHaveLength(1);
  expect(await env.db('uploads').where({ id: oldUpload.id })).toHaveLength(0);
  expect(existsSync(fileOf(uploads(), oldUpload.key))).toBe(false);
  expect(await env.db('uploads').where({ id: youngUpload.id })).toHaveLength(1);
  expect(existsSync(fileOf(uploads(), youngUpload.key))).toBe(true);
  expect(await env.db('usage_daily').where({ tenant_id: tenant.tenantId })).toHaveLength(1);

  // Nothing is left for the next tick.
  expect((await sweep(env.db)).retention).toMatchObject({
    jobs: 0,
    outputs: 0,
    deliveries: 0,
    busMessages: 0,
    deadLetters: 0,
  });
}, 120_000);

it('splits the work between two sweeps at once: each row and object deleted once, the counts adding up', async () => {
  const old = await Promise.all(Array.from({ length: 250 }, () => endedJob(35)));
  const webhook = await webhookId();
  await deliveries(webhook, 2500, 33);
  await idempotencyKeys(2500, 30);
  await outboxRows(2500, 120);
  await busRows(2500, 120, 'delivered');
  await busRows(1500, 8 * 24 * 60, 'dead');
  const logins = await Promise.all(Array.from({ length: 40 }, () => loginToken(-2)));
  await Promise.all(Array.from({ length: 120 }, () => upload(9)));

  const deletes = jest.spyOn(objectStore(), 'delete');
  const reports = await Promise.all([sweep(env.db), sweep(env.db)]);
  const keys = deletes.mock.calls.map(([bucket, key]) => `${bucket}/${key}`);
  deletes.mockRestore();

  const total = (field: keyof SweepReport['retention']) => reports[0]!.retention[field] + reports[1]!.retention[field];
  expect({
    jobs: total('jobs'),
    outputs: total('outputs'),
    uploads: total('uploads'),
    objectsFailed: total('objectsFailed'),
    deliveries: total('deliveries'),
    idempotencyKeys: total('idempotencyKeys'),
    logins: total('logins'),
    outbox: total('outbox'),
    busMessages: total('busMessages'),
    deadLetters: total('deadLetters'),
  }).toEqual({
    jobs: 250,
    outputs: 250,
    uploads: 120,
    objectsFailed: 0,
    deliveries: 2500,
    idempotencyKeys: 2500,
    logins: 40,
    outbox: 2500,
    busMessages: 2500,
    deadLetters: 1500,
  });
  // Each object was deleted by exactly one of them.
  expect(new Set(keys).size).toBe(keys.length);
  expect(keys).toEqual(expect.arrayContaining(old.map((j) => `${outputs()}/${j.key}`)));
  expect(keys).toHaveLength(250 + 120);
  for (const { key } of old) expect(existsSync(fileOf(outputs(), key))).toBe(false);
  expect(await env.db('api_keys').whereIn('id', logins)).toHaveLength(0);
  expect(
    await env
      .db('jobs')
      .whereIn(
        'id',
        old.map((j) => j.id),
      )
      .whereNull('expired_at'),
  ).toHaveLength(0);
}, 120_000);

it("deletes a job's caption sidecars with its output", async () => {
  const job = await endedJob(31, 'COMPLETED', true);
  const kept = await endedJob(2, 'COMPLETED', true);
  await sweep(env.db);
  for (const key of [job.key, job.captions.webvtt_key, job.captions.srt_key]) {
    expect(existsSync(fileOf(outputs(), key))).toBe(false);
  }
  for (const key of [kept.key, kept.captions.webvtt_key, kept.captions.srt_key]) {
    expect(existsSync(fileOf(outputs(), key))).toBe(true);
  }
});

it('stays within its batches per tick and drains a backlog over the next ticks', async () => {
  await idempotencyKeys(10_500, 48);
  const first = await applyRetention(env.db);
  // Ten batches of a thousand per table and tick.
  expect(first.idempotencyKeys).toBe(10_000);
  expect((await applyRetention(env.db)).idempotencyKeys).toBe(500);
}, 120_000);

describe('an expired job seen by its partner', () => {
  let server: Server;
  let base: string;

  beforeAll(async () => {
    loadFunction('pipeline-result');
    server = getTestServer('pipeline-result');
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const result = (id: string) =>
    fetch(`${base}/pipeline/${id}/result`, { headers: { authorization: `Bearer ${tenant.key}` } });

  it('answers 410 result_expired for the result, where a job inside its period still gets its URL', async () => {
    const expiring = await endedJob(31);
    const fresh = await endedJob(1);
    expect((await result(expiring.id)).status).toBe(200);

    await sweep(env.db);

    const gone = await result(expiring.id);
    expect(gone.status).toBe(410);
    expect(gone.headers.get('content-type')).toContain('application/problem+json');
    expect(await gone.json()).toMatchObject({ status: 410, code: 'result_expired' });
    const kept = await result(fresh.id);
    expect(kept.status).toBe(200);
    expect(await kept.json()).toMatchObject({ job_id: fresh.id, url: expect.any(String) });
  });
});
