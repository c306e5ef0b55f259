/**
 * The batch endpoints over real HTTP through the local gateway, against a real PostgreSQL, with
 * the workers off (jobs stay PENDING); outcomes are written by the job path's own completeJob, as
 * a worker would. Validation by item, the tier's size cap, bulk acceptance, status and counts,
 * the results archive opened by a standard unzip, cancel, the one batch.completed, isolation.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadFunction } from '../../functions';
import { completeJob } from '../../shared/jobs/complete';
import { recordKey, releaseKey, type Reservation } from '../../shared/jobs/idempotency';
import { claimJob } from '../../shared/jobs/lease';
import { JOB_LIMITS } from '../../shared/jobs/limits';
import { sweep } from '../../shared/jobs/sweep';
import type { StoredResult } from '../../shared/jobs/views';
import { startStack, Stack } from '../../shared/local/stack';
import { transport } from '../../shared/platform';
import { notifyBatchEvent } from '../../shared/webhooks/notify';
import { closeTestEnv, newTenantKey, TestEnv, useTestEnv } from '../support/database';
import { insertWebhook } from '../support/webhook-fixtures';

let env: TestEnv;
let stack: Stack;
let pro: { key: string; tenantId: string };
let other: { key: string; tenantId: string };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const MISSING = '00000000-0000-4000-8000-000000000000';

async function call(
  method: string,
  path: string,
  opts: { key?: string; json?: unknown; headers?: Record<string, string> } = {},
) {
  const headers: Record<string, string> = { authorization: `Bearer ${opts.key ?? pro.key}`, ...opts.headers };
  if (opts.json !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${stack.url}${path}`, {
    method,
    headers,
    body: opts.json === undefined ? undefined : JSON.stringify(opts.json),
  });
  const bytes = Buffer.from(await res.arrayBuffer());
  let body: Record<string, any> = {};
  try {
    body = JSON.parse(bytes.toString()) as Record<string, any>;
  } catch {
    body = {};
  }
  return { status: res.status, headers: res.headers, bytes, body };
}

const item = (n: number, extra: Record<string, unknown> = {}) => ({
  video_url: `https://cdn.example.com/in/clip-${n}.mp4`,
  voice_text: `Welcome to the show number ${n}.`,
  ...extra,
});
const items = (n: number) => Array.from({ length: n }, (_, i) => item(i));

async function accepted(json: unknown, key = pro.key): Promise<string> {
  const r = await call('POST', '/pipeline/batch', { json, key });
  if (r.status !== 202) throw new Error(`POST /pipeline/batch answered ${r.status}: ${r.bytes.toString()}`);
  return r.body.batch_id as string;
}

const jobsOf = (batchId: string) => env.db('jobs').where({ batch_id: batchId }).orderBy('batch_index');

const stored = (jobId: string): StoredResult => ({
  bucket: 'aiprod-outputs',
  key: `jobs/x/${jobId}/output.mp4`,
  content_type: 'video/mp4',
  size_bytes: 1234,
  duration_seconds: 6,
  video: { codec: 'h264', width: 640, height: 360, fps: 25, copied: true },
  audio: { codec: 'aac', sample_rate: 48000, channels: 2 },
  loudness: { integrated_lufs: -14, true_peak_dbtp: -1.2, lra: 5, target_lufs: -14 },
});

const batchMessages = (batchId: string) =>
  env.db('outbox').where({ topic: 'job-results' }).whereRaw("payload->>'batch_id' = ?", [batchId]);

beforeAll(async () => {
  env = await useTestEnv({ AIPROD_LOCAL_WORKERS: '0' });
  stack = await startStack({ loadFunction, port: 0, dataDir: env.dataDir, maintenanceSeconds: 0 });
  pro = await newTenantKey(env.db, 'pro');
  other = await newTenantKey(env.db, 'pro');
});

afterAll(async () => {
  await stack.stop();
  await closeTestEnv();
});

describe('POST /pipeline/batch', () => {
  it('accepts the batch: 202 with its id, its jobs and their messages written, in order', async () => {
    const r = await call('POST', '/pipeline/batch', {
      json: {
        items: [item(1), item(2, { metadata: { order: 'B-2' } }), item(3)],
        priority: 'high',
        metadata: { run: 'r1' },
      },
    });
    expect(r.status).toBe(202);
    expect(r.body).toEqual({ batch_id: expect.stringMatching(UUID), status: 'PENDING', total: 3, priority: 'high' });
    expect(r.headers.get('location')).toBe(`/pipeline/batch/${r.body.batch_id}`);
    const jobs = await jobsOf(r.body.batch_id);
    expect(jobs.map((j) => [j.batch_index, j.status, j.priority, j.request.video_url])).toEqual([
      [0, 'PENDING', 2, item(1).video_url],
      [1, 'PENDING', 2, item(2).video_url],
      [2, 'PENDING', 2, item(3).video_url],
    ]);
    expect(jobs[1].metadata).toEqual({ order: 'B-2' });
    // One pipeline-jobs message per job, taken by the local bus in the same transaction.
    const bus = await env.db('bus_messages').where({ topic: 'pipeline-jobs' });
    const announced = bus.map((m) => JSON.parse(Buffer.from(m.data, 'base64').toString()).job_id);
    for (const j of jobs) expect(announced).toContain(j.id);
    // Each job shows its batch and priority.
    const status = await call('GET', `/pipeline/${jobs[0].id}`);
    expect(status.body).toMatchObject({ batch_id: r.body.batch_id, priority: 'high', status: 'PENDING' });
  });

  describe('with an Idempotency-Key', () => {
    const batchCount = async () => Number((await env.db('batches').count({ n: '*' }).first())!.n);
    const send = (json: unknown, key: string, tenantKey = pro.key) =>
      call('POST', '/pipeline/batch', { json, key: tenantKey, headers: { 'idempotency-key': key } });

    it('returns the same batch for a retry, its keys in any order, and writes nothing more', async () => {
      const json = { items: [item(10), item(11, { metadata: { a: '1', b: '2' } })], priority: 'low' };
      const first = await send(json, 'batch-order-1');
      expect(first.status).toBe(202);
      const before = { batches: await batchCount(), jobs: (await jobsOf(first.body.batch_id)).length };
      const reordered = { priority: 'low', items: [item(10), item(11, { metadata: { b: '2', a: '1' } })] };
      const retry = await send(reordered, 'batch-order-1');
      expect(retry.status).toBe(202);
      expect(retry.body).toEqual(first.body);
      expect(retry.headers.get('location')).toBe(`/pipeline/batch/${first.body.batch_id}`);
      expect(await batchCount()).toBe(before.batches);
      expect(await jobsOf(first.body.batch_id)).toHaveLength(before.jobs);
    });

    it('answers 422 idempotency_key_reused for another batch, or a job, under the same key', async () => {
      expect((await send({ items: items(2) }, 'batch-order-2')).status).toBe(202);
      const other = await send({ items: items(3) }, 'batch-order-2');
      expect(other.status).toBe(422);
      expect(other.body.code).toBe('idempotency_key_reused');
      const job = await call('POST', '/pipeline/run', {
        json: item(0),
        headers: { 'idempotency-key': 'batch-order-2' },
      });
      expect(job.status).toBe(422);
      expect(job.body.code).toBe('idempotency_key_reused');
      // And the other way round: a job's key is not a batch's.
      expect(
        (await call('POST', '/pipeline/run', { json: item(0), headers: { 'idempotency-key': 'job-order-3' } })).status,
      ).toBe(202);
      expect((await send({ items: items(2) }, 'job-order-3')).body.code).toBe('idempotency_key_reused');
    });

    it('answers 409 while the first request is still being written, and keeps keys per tenant', async () => {
      const first = await send({ items: items(2) }, 'batch-in-flight');
      expect(first.status).toBe(202);
      // The key as a request that has not committed yet leaves it.
      await env
        .db('idempotency_keys')
        .where({ tenant_id: pro.tenantId, key: 'batch-in-flight' })
        .update({ batch_id: null });
      const r = await send({ items: items(2) }, 'batch-in-flight');
      expect(r.status).toBe(409);
      expect(r.body.code).toBe('idempotency_key_in_flight');
      const theirs = await send({ items: items(2) }, 'batch-in-flight', other.key);
      expect(theirs.status).toBe(202);
      expect(theirs.body.batch_id).not.toBe(first.body.batch_id);
    });

    it('gives the key back when the batch cannot be written, so the retry is taken at once', async () => {
      // A constraint no batch meets, added for this case only: the batch's transaction fails.
      await env.db.raw('ALTER TABLE batches ADD CONSTRAINT batches_refuse_all CHECK (total < 0) NOT VALID');
      let failed;
      try {
        failed = await send({ items: items(2) }, 'batch-failed-write');
      } finally {
        await env.db.raw('ALTER TABLE batches DROP CONSTRAINT batches_refuse_all');
      }
      expect(failed.status).toBe(500);
      const retry = await send({ items: items(2) }, 'batch-failed-write');
      expect(retry.status).toBe(202);
      expect(await jobsOf(retry.body.batch_id)).toHaveLength(2);
    });

    it('lets a retry take a stale reservation over; the late request can then neither record nor release it', async () => {
      const json = { items: items(2), priority: 'low' };
      expect((await send(json, 'batch-stale')).status).toBe(202);
      // The key as a request that reserved it a minute ago and is still writing left it.
      const where = { tenant_id: pro.tenantId, key: 'batch-stale' };
      await env
        .db('idempotency_keys')
        .where(where)
        .update({ batch_id: null, created_at: env.db.raw("now() - interval '61 seconds'") });
      const { at } = await env.db('idempotency_keys').where(where).first(env.db.raw('created_at::text AS at'));
      const late: Reservation = { kind: 'reserved', tenantId: pro.tenantId, key: 'batch-stale', at };

      const taken = await send(json, 'batch-stale');
      expect(taken.status).toBe(202);
      expect(await recordKey(env.db, late, { batch_id: MISSING })).toBe(0);
      await releaseKey(env.db, late);
      expect((await env.db('idempotency_keys').where(where).first()).batch_id).toBe(taken.body.batch_id);
      expect((await send(json, 'batch-stale')).body.batch_id).toBe(taken.body.batch_id);
    });

    it('writes one batch for two identical requests at once', async () => {
      const json = { items: items(4), priority: 'high' };
      const answers = await Promise.all([send(json, 'batch-twice'), send(json, 'batch-twice')]);
      const statuses = answers.map((a) => a.status).sort();
      expect([
        [202, 202],
        [202, 409],
      ]).toContainEqual(statuses);
      const ids = new Set(answers.filter((a) => a.status === 202).map((a) => a.body.batch_id));
      expect(ids.size).toBe(1);
      const key = await env.db('idempotency_keys').where({ tenant_id: pro.tenantId, key: 'batch-twice' }).first();
      expect(key.batch_id).toBe([...ids][0]);
      expect(
        await env
          .db('batches')
          .where({ tenant_id: pro.tenantId })
          .whereRaw("created_at > now() - interval '1 minute'")
          .where({ total: 4, priority: 2 }),
      ).toHaveLength(1);
    });

    it('refuses a malformed key with 400 invalid_idempotency_key, and reserves no key for a refused batch', async () => {
      const bad = await send({ items: items(2) }, 'has space');
      expect(bad.status).toBe(400);
      expect(bad.body.code).toBe('invalid_idempotency_key');
      const refused = await send({ items: [item(0), 'nope'] }, 'batch-refused');
      expect(refused.status).toBe(422);
      expect(await env.db('idempotency_keys').where({ tenant_id: pro.tenantId, key: 'batch-refused' })).toHaveLength(0);
      expect((await send({ items: items(2) }, 'batch-refused')).status).toBe(202);
    });
  });

  it('lists every bad item by index and field in one 422, and writes nothing', async () => {
    const before = await env.db('batches').count({ n: '*' }).first();
    const r = await call('POST', '/pipeline/batch', {
      json: {
        items: [
          item(0),
          item(1, { voice_text: '' }),
          'nope',
          item(3, { video_url: 'ftp://x/y.mp4', music_style: 'polka' }),
        ],
      },
    });
    expect(r.status).toBe(422);
    expect(r.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(r.body.code).toBe('validation_failed');
    const fields = (r.body.errors as { field: string }[]).map((e) => e.field);
    expect(fields).toEqual(
      expect.arrayContaining(['items[1].voice_text', 'items[2]', 'items[3].video_url', 'items[3].music_style']),
    );
    expect(fields.some((f) => f.startsWith('items[0]'))).toBe(false);
    expect(await env.db('batches').count({ n: '*' }).first()).toEqual(before);
  });

  it("answers with the items' own code when every refusal is the same, as one job's submit would", async () => {
    const still = (n: number, start: number) => ({
      recipe: 'still',
      image_url: `https://img.example.com/cover-${n}.jpg`,
      duration_seconds: 8,
      voice_script: [{ start_seconds: start, text: 'Too late.' }],
    });
    const late = await call('POST', '/pipeline/batch', { json: { items: [item(0), still(1, 8), still(2, 9)] } });
    expect(late.status).toBe(422);
    expect(late.body).toMatchObject({
      code: 'voice_too_long',
      detail: 'Script lines must start before the video ends.',
    });
    expect((late.body.errors as { field: string }[]).map((e) => e.field)).toEqual([
      'items[1].voice_script.0.start_seconds',
      'items[2].voice_script.0.start_seconds',
    ]);
    // The same code with messages of their own (each names its language's voices): the general one.
    const voices = await call('POST', '/pipeline/batch', {
      json: { items: [item(0, { voice_id: 'nope' }), item(1, { voice_id: 'nope', voice_language: 'fr' })] },
    });
    expect([voices.status, voices.body.code]).toEqual([422, 'validation_failed']);
    expect((voices.body.errors as { code: string }[]).map((e) => e.code)).toEqual(['unknown_voice', 'unknown_voice']);
    const oneLanguage = await call('POST', '/pipeline/batch', {
      json: { items: [item(0, { voice_id: 'nope' }), item(1, { voice_id: 'nope' })] },
    });
    expect([oneLanguage.status, oneLanguage.body.code]).toEqual([422, 'unknown_voice']);
    // A malformed item beside them: the problem is the general one, every entry still listed.
    const mixed = await call('POST', '/pipeline/batch', {
      json: { items: [still(0, 8), item(1, { voice_text: '' })] },
    });
    expect(mixed.status).toBe(422);
    expect(mixed.body.code).toBe('validation_failed');
    expect((mixed.body.errors as { field: string }[]).map((e) => e.field)).toEqual([
      'items[0].voice_script.0.start_seconds',
      'items[1].voice_text',
    ]);
  });

  it("refuses fewer than 2 items, more than the tier's max_batch_size, a bad priority, unknown fields", async () => {
    const max = JOB_LIMITS.pro.maxBatchSize;
    const cases: [unknown, string][] = [
      [{ items: [item(0)] }, 'items'],
      [{ items: items(max + 1) }, 'items'],
      [{ items: 'x' }, 'items'],
      [{ items: items(2), priority: 'urgent' }, 'priority'],
      [{ items: items(2), metadata: { 'bad key': 'x' } }, 'metadata'],
      [{ items: items(2), webhook: 'https://x' }, 'webhook'],
    ];
    for (const [json, field] of cases) {
      const r = await call('POST', '/pipeline/batch', { json });
      expect(r.status).toBe(422);
      expect((r.body.errors as { field: string }[]).map((e) => e.field.split('.')[0])).toContain(field);
    }
    expect((await call('POST', '/pipeline/batch', { json: { items: items(max) } })).status).toBe(202);
  });

  it('refuses a body that is not a JSON object', async () => {
    const res = await fetch(`${stack.url}/pipeline/batch`, {
      method: 'POST',
      headers: { authorization: `Bearer ${pro.key}`, 'content-type': 'application/json' },
      body: '[1,2]',
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { code: string }).code).toBe('invalid_json');
  });

  it('accepts an enterprise batch of 500 items', async () => {
    const big = await newTenantKey(env.db, 'enterprise');
    const id = await accepted({ items: items(500) }, big.key);
    expect(await env.db('jobs').where({ batch_id: id }).count({ n: '*' }).first()).toEqual({ n: '500' });
  });
});

describe('GET /pipeline/batch/{id}', () => {
  it('counts jobs by status and follows them to PARTIAL_FAILURE, announcing the end once', async () => {
    const id = await accepted({ items: items(3), metadata: { run: 'r2' } });
    const initial = await call('GET', `/pipeline/batch/${id}`);
    expect(initial.status).toBe(200);
    expect(initial.headers.get('cache-control')).toBe('no-store');
    expect(initial.body).toMatchObject({
      batch_id: id,
      status: 'PENDING',
      priority: 'normal',
      total: 3,
      counts: { PENDING: 3, PROCESSING: 0, COMPLETED: 0, FAILED: 0, CANCELLED: 0 },
      progress: 0,
      metadata: { run: 'r2' },
      completed_at: null,
    });
    const [a, b, c] = await jobsOf(id);
    await completeJob(env.db, a, null, { status: 'COMPLETED', result: stored(a.id) });
    const midway = await call('GET', `/pipeline/batch/${id}`);
    expect(midway.body).toMatchObject({ status: 'PROCESSING', progress: 33, counts: { PENDING: 2, COMPLETED: 1 } });
    await completeJob(env.db, b, null, { status: 'FAILED', code: 'input_unreachable', message: 'gone' });
    expect(await batchMessages(id)).toHaveLength(0);
    await completeJob(env.db, c, null, { status: 'COMPLETED', result: stored(c.id) });
    const ended = await call('GET', `/pipeline/batch/${id}`);
    expect(ended.body).toMatchObject({
      status: 'PARTIAL_FAILURE',
      progress: 100,
      counts: { COMPLETED: 2, FAILED: 1, PENDING: 0 },
      completed_at: expect.any(String),
    });
    const messages = await batchMessages(id);
    expect(messages.map((m) => m.payload)).toEqual([
      { type: 'batch.completed', batch_id: id, tenant_id: pro.tenantId },
    ]);
  });

  it('is COMPLETED when every job completed, and sends batch.completed to subscribed webhooks', async () => {
    const id = await accepted({ items: items(2) });
    const hook = await insertWebhook(env.db, {
      tenantId: pro.tenantId,
      url: 'https://127.0.0.1:9/hook',
      events: ['batch.completed'],
    });
    // Both ends at once: the tenant's queue lock lets exactly one of them end the batch.
    await Promise.all(
      (await jobsOf(id)).map((j) => completeJob(env.db, j, null, { status: 'COMPLETED', result: stored(j.id) })),
    );
    expect((await call('GET', `/pipeline/batch/${id}`)).body.status).toBe('COMPLETED');
    expect(await batchMessages(id)).toHaveLength(1);
    expect(await notifyBatchEvent(env.db, transport(), { batch_id: id, tenant_id: pro.tenantId })).toBe(1);
    // A redelivered message writes nothing twice.
    expect(await notifyBatchEvent(env.db, transport(), { batch_id: id, tenant_id: pro.tenantId })).toBe(0);
    const [delivery] = await env.db('webhook_deliveries').where({ webhook_id: hook.id });
    expect(delivery.event_type).toBe('batch.completed');
    expect(JSON.parse(delivery.body)).toMatchObject({
      type: 'batch.completed',
      data: { batch_id: id, status: 'COMPLETED', total: 2, counts: { COMPLETED: 2 } },
    });
  });

  it("is 404 for another tenant's batch, a missing one and a malformed id", async () => {
    const id = await accepted({ items: items(2) });
    for (const [path, key] of [
      [`/pipeline/batch/${id}`, other.key],
      [`/pipeline/batch/${id}/results`, other.key],
      [`/pipeline/batch/${MISSING}`, pro.key],
      ['/pipeline/batch/not-a-uuid', pro.key],
    ] as const) {
      const r = await call('GET', path, { key });
      expect(r.status).toBe(404);
      expect(r.body.code).toBe('not_found');
    }
    const cancel = await call('POST', `/pipeline/batch/${id}/cancel`, { key: other.key });
    expect(cancel.status).toBe(404);
    expect((await call('GET', `/pipeline/batch/${id}`)).body.status).toBe('PENDING');
  });
});

describe('GET /pipeline/batch/{id}/results', () => {
  it('streams a ZIP a standard unzip opens: manifest.json and one file per item', async () => {
    const id = await accepted({ items: [item(0), item(1, { metadata: { k: 'v' } }), item(2)] });
    const [a, b] = await jobsOf(id);
    await completeJob(env.db, a, null, { status: 'COMPLETED', result: stored(a.id) });
    await completeJob(env.db, b, null, { status: 'FAILED', code: 'voice_failed', message: 'no voice' });
    const r = await call('GET', `/pipeline/batch/${id}/results`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('application/zip');
    expect(r.headers.get('content-disposition')).toBe(`attachment; filename="batch-${id}.zip"`);
    const dir = mkdtempSync(join(tmpdir(), 'aiprod-batch-zip-'));
    writeFileSync(join(dir, 'results.zip'), r.bytes);
    execFileSync('unzip', ['-q', 'results.zip', '-d', 'out'], { cwd: dir });
    const read = (p: string) => JSON.parse(readFileSync(join(dir, 'out', p), 'utf8'));
    const manifest = read('manifest.json');
    expect(manifest.batch).toMatchObject({ batch_id: id, status: 'PROCESSING', total: 3 });
    expect(manifest.items).toEqual([
      { index: 0, job_id: a.id, status: 'COMPLETED', file: 'items/0000.json' },
      { index: 1, job_id: b.id, status: 'FAILED', file: 'items/0001.json' },
      { index: 2, job_id: expect.stringMatching(UUID), status: 'PENDING', file: 'items/0002.json' },
    ]);
    const done = read('items/0000.json');
    expect(done).toMatchObject({
      index: 0,
      status: 'COMPLETED',
      error: null,
      result: { content_type: 'video/mp4', size_bytes: 1234, duration_seconds: 6, url: expect.stringMatching(/^http/) },
    });
    expect(read('items/0001.json')).toMatchObject({
      status: 'FAILED',
      metadata: { k: 'v' },
      error: { code: 'voice_failed', message: 'no voice' },
      result: null,
    });
    expect(read('items/0002.json')).toMatchObject({ status: 'PENDING', result: null, error: null });
  });

  it('holds a 500-item archive in pages, every item in it', async () => {
    const big = await newTenantKey(env.db, 'enterprise');
    const id = await accepted({ items: items(500) }, big.key);
    const r = await call('GET', `/pipeline/batch/${id}/results`, { key: big.key });
    expect(r.status).toBe(200);
    const dir = mkdtempSync(join(tmpdir(), 'aiprod-batch-zip-'));
    writeFileSync(join(dir, 'results.zip'), r.bytes);
    const listing = execFileSync('unzip', ['-Z1', 'results.zip'], { cwd: dir }).toString().trim().split('\n');
    expect(listing).toHaveLength(501);
    expect(listing).toContain('items/0499.json');
    expect(listing).toContain('manifest.json');
  });
});

describe('POST /pipeline/batch/{id}/cancel', () => {
  it('cancels what waits, keeps what ended, ends the batch CANCELLED once; again changes nothing', async () => {
    const id = await accepted({ items: items(3) });
    const [a] = await jobsOf(id);
    await completeJob(env.db, a, null, { status: 'COMPLETED', result: stored(a.id) });
    const r = await call('POST', `/pipeline/batch/${id}/cancel`);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      batch_id: id,
      status: 'CANCELLED',
      counts: { COMPLETED: 1, CANCELLED: 2, PENDING: 0 },
      cancelled_at: expect.any(String),
      completed_at: expect.any(String),
    });
    const jobs = await jobsOf(id);
    expect(jobs.map((j) => j.status)).toEqual(['COMPLETED', 'CANCELLED', 'CANCELLED']);
    const cancelledEvents = await env
      .db('outbox')
      .where({ topic: 'job-results' })
      .whereRaw("payload->>'type' = 'job.cancelled' AND payload->>'job_id' = ANY(?)", [jobs.map((j) => j.id)]);
    expect(cancelledEvents).toHaveLength(2);
    expect(await batchMessages(id)).toHaveLength(1);
    const again = await call('POST', `/pipeline/batch/${id}/cancel`);
    expect(again.status).toBe(200);
    expect(again.body.status).toBe('CANCELLED');
    expect(await batchMessages(id)).toHaveLength(1);
  });

  it('is 409 for a batch whose jobs have all ended', async () => {
    const id = await accepted({ items: items(2) });
    for (const j of await jobsOf(id)) await completeJob(env.db, j, null, { status: 'COMPLETED', result: stored(j.id) });
    const r = await call('POST', `/pipeline/batch/${id}/cancel`);
    expect(r.status).toBe(409);
    expect(r.body.code).toBe('batch_not_cancellable');
  });
});

describe('lost turns', () => {
  const turnsOf = async (tenantId: string): Promise<string[]> =>
    (
      await env
        .db('bus_messages')
        .where({ topic: 'pipeline-jobs' })
        .whereRaw("attributes->>'turn' = 'handed-off' AND attributes->>'tenant_id' = ?", [tenantId])
        .orderBy('id')
    ).map((m) => JSON.parse(Buffer.from(m.data, 'base64').toString()).job_id as string);
  const waitedLong = (batchId: string) =>
    env
      .db('jobs')
      .where({ batch_id: batchId })
      .update({ updated_at: env.db.raw("now() - interval '5 minutes'") });

  it('are given again by the sweeper, one per free slot, and for a raised tier', async () => {
    const t = await newTenantKey(env.db, 'free');
    const id = await accepted({ items: items(3) }, t.key);
    await waitedLong(id);
    const [first, second, third] = await jobsOf(id);
    await sweep(env.db);
    expect(await turnsOf(t.tenantId)).toEqual([first.id]);
    // Raised to pro: five slots, three jobs waiting.
    await env.db('tenants').where({ id: t.tenantId }).update({ tier: 'pro' });
    await sweep(env.db);
    expect(await turnsOf(t.tenantId)).toEqual([first.id, first.id, second.id, third.id]);
  });

  it('are not given to a tenant whose slots are all taken, nor for jobs that waited only a moment', async () => {
    const busy = await newTenantKey(env.db, 'free');
    const id = await accepted({ items: items(2) }, busy.key);
    await waitedLong(id);
    const [first] = await jobsOf(id);
    expect(await claimJob(env.db, first.id, 'worker', 60)).not.toBeNull();
    const fresh = await newTenantKey(env.db, 'free');
    await accepted({ items: items(2) }, fresh.key);
    await sweep(env.db);
    expect(await turnsOf(busy.tenantId)).toEqual([]);
    expect(await turnsOf(fresh.tenantId)).toEqual([]);
  });
});
