/**
 * The submit path under concurrency far above its pool: 100 submits at once through the local
 * gateway, with a pool of two connections. Every request must be answered (202, or 503 with
 * Retry-After while shedding), and every accepted job must be durable and announced. Concurrent
 * submits share statements (db/coalesce.ts), and one job's refusal stays its own. Through a broker
 * outside the database, as Pub/Sub is, no submit holds a connection while the broker answers.
 */
import { randomUUID } from 'node:crypto';
import { loadFunction } from '../../functions';
import { parseJobRequest } from '../../shared/jobs/request';
import type { Transport } from '../../shared/events/transport';
import { submitJob } from '../../shared/jobs/submit';
import { startStack, Stack } from '../../shared/local/stack';
import { closeTestEnv, newTenantKey, TestEnv, useTestEnv } from '../support/database';

const CONCURRENT = 100;

let env: TestEnv;
let stack: Stack;
let keys: string[];

beforeAll(async () => {
  env = await useTestEnv({ DATABASE_POOL_MAX: '2', AIPROD_LOCAL_WORKERS: '0' });
  stack = await startStack({ loadFunction, port: 0, dataDir: env.dataDir });
  // Enterprise tenants, several of them: the tier limits are not what this test is about.
  keys = [];
  for (let i = 0; i < 4; i++) keys.push((await newTenantKey(env.db, 'enterprise')).key);
});

afterAll(async () => {
  await stack?.stop();
  await closeTestEnv();
});

it(`answers ${CONCURRENT} concurrent submits with a pool of 2: every one accepted or shed, none lost`, async () => {
  // fetch opens a connection per request in flight (no per-origin cap), so all are concurrent.
  const responses = await Promise.all(
    Array.from({ length: CONCURRENT }, async (_, i) => {
      const res = await fetch(`${stack.url}/pipeline/run`, {
        method: 'POST',
        headers: { authorization: `Bearer ${keys[i % keys.length]}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          video_url: `https://cdn.example.com/in/clip-${i}.mp4`,
          voice_text: `Take number ${i}.`,
        }),
        signal: AbortSignal.timeout(30_000),
      });
      return { status: res.status, retryAfter: res.headers.get('retry-after'), body: (await res.json()) as any };
    }),
  );

  for (const r of responses) expect([202, 503]).toContain(r.status);
  const shed = responses.filter((r) => r.status === 503);
  for (const r of shed) {
    expect(r.body.code).toBe('service_busy');
    expect(Number(r.retryAfter)).toBeGreaterThan(0);
  }
  const accepted = responses.filter((r) => r.status === 202).map((r) => r.body.job_id as string);
  expect(accepted.length).toBeGreaterThan(0);

  // Every accepted job is in the database, PENDING (no workers), and was published to the bus.
  const jobs = await env.db('jobs').whereIn('id', accepted).select('id', 'status');
  expect(jobs).toHaveLength(accepted.length);
  expect(new Set(jobs.map((j) => j.status))).toEqual(new Set(['PENDING']));
  const published = await env
    .db('outbox')
    .where({ topic: 'pipeline-jobs' })
    .whereNotNull('published_at')
    .whereRaw("payload->>'job_id' = ANY(?)", [accepted])
    .count<{ count: string }[]>('* as count');
  expect(Number(published[0]!.count)).toBe(accepted.length);
  const bus = await env.db('bus_messages').where({ topic: 'pipeline-jobs' }).count<{ count: string }[]>('* as count');
  expect(Number(bus[0]!.count)).toBe(accepted.length);
});

it('refuses a submit at once with 503 service_busy and Retry-After when no connection comes free', async () => {
  // Hold every pooled connection, as a burst of slow queries would.
  const held = [await env.db.client.acquireConnection(), await env.db.client.acquireConnection()];
  try {
    const res = await fetch(`${stack.url}/pipeline/run`, {
      method: 'POST',
      headers: { authorization: `Bearer ${keys[0]}`, 'content-type': 'application/json' },
      body: JSON.stringify({ video_url: 'https://cdn.example.com/in/busy.mp4', voice_text: 'Nobody home today.' }),
      signal: AbortSignal.timeout(15_000),
    });
    expect(res.status).toBe(503);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(((await res.json()) as any).code).toBe('service_busy');
    const health = await fetch(`${stack.url}/health`, { signal: AbortSignal.timeout(15_000) });
    expect(health.status).toBe(503);
  } finally {
    for (const c of held) await env.db.client.releaseConnection(c);
  }
  const after = await fetch(`${stack.url}/health`);
  expect(after.status).toBe(200);
});

/** How many of the jobs' messages the local bus holds. */
async function busMessagesOf(jobIds: string[]): Promise<number> {
  const [row] = await env
    .db('bus_messages')
    .whereRaw("convert_from(decode(data, 'base64'), 'UTF8')::jsonb->>'job_id' = ANY(?)", [jobIds])
    .count<{ count: string }[]>('* as count');
  return Number(row!.count);
}

const jobRequest = (i: number) => {
  const parsed = parseJobRequest({ video_url: `https://cdn.example.com/in/shared-${i}.mp4`, voice_text: `Line ${i}.` });
  if (!parsed.ok) throw new Error('invalid test request');
  return parsed.request;
};

it('writes concurrent submits in shared statements, each job with its own message', async () => {
  const { tenantId } = await newTenantKey(env.db, 'enterprise');
  const principal = { tenantId, tenantName: 'shared', tier: 'enterprise' as const, keyId: randomUUID() };
  let statements = 0;
  const count = (q: { sql: string }) => {
    if (/^with "job" as \(\s*INSERT INTO jobs/.test(q.sql)) statements++;
  };
  env.db.on('query', count);
  try {
    const accepted = await Promise.all(
      Array.from({ length: 40 }, (_, i) => submitJob(env.db, principal, jobRequest(i))),
    );
    expect(new Set(accepted.map((a) => a.job_id)).size).toBe(40);
    expect(statements).toBeGreaterThan(0);
    expect(statements).toBeLessThan(40);
    const ids = accepted.map((a) => a.job_id);
    const jobs = await env
      .db('jobs')
      .whereIn('id', ids)
      .orderBy('created_at')
      .select('id', 'tenant_id', 'request', 'created_at');
    expect(jobs).toHaveLength(40);
    // Each its own creation time, in the order sent, as the workers take a tenant's jobs by it.
    expect(jobs.map((j) => j.id)).toEqual(ids);
    expect(new Set(jobs.map((j) => (j.created_at as Date).getTime())).size).toBeGreaterThan(1);
    for (const job of jobs) {
      const i = accepted.findIndex((a) => a.job_id === job.id);
      expect(job.tenant_id).toBe(tenantId);
      expect(job.request.video_url).toBe(`https://cdn.example.com/in/shared-${i}.mp4`);
    }
    const messages = await env
      .db('outbox')
      .whereRaw("payload->>'job_id' = ANY(?)", [ids])
      .select(env.db.raw("payload->>'job_id' AS job_id"), 'attributes', 'published_at');
    expect(messages.map((m) => m.job_id).sort()).toEqual([...ids].sort());
    for (const m of messages) {
      expect(m.attributes).toEqual({ tenant_id: tenantId });
      expect(m.published_at).not.toBeNull();
    }
    expect(await busMessagesOf(ids)).toBe(40);
  } finally {
    env.db.off('query', count);
  }
});

it('refuses only the job the database refuses when it shares a statement with others', async () => {
  const { tenantId } = await newTenantKey(env.db, 'enterprise');
  const principal = { tenantId, tenantName: 'kept', tier: 'enterprise' as const, keyId: randomUUID() };
  // A tenant deleted while its request was on the way: its job breaks the tenants foreign key.
  const gone = { ...principal, tenantId: randomUUID(), tenantName: 'gone' };
  const results = await Promise.allSettled(
    Array.from({ length: 12 }, (_, i) => submitJob(env.db, i === 5 ? gone : principal, jobRequest(100 + i))),
  );
  expect(results.map((r) => r.status)).toEqual(
    Array.from({ length: 12 }, (_, i) => (i === 5 ? 'rejected' : 'fulfilled')),
  );
  expect((results[5] as PromiseRejectedResult).reason).toMatchObject({ code: '23503' });
  const kept = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value.job_id] : []));
  expect(await env.db('jobs').whereIn('id', kept).count<{ count: string }[]>('* as count')).toEqual([{ count: '11' }]);
  expect(await env.db('jobs').where({ tenant_id: gone.tenantId }).count<{ count: string }[]>('* as count')).toEqual([
    { count: '0' },
  ]);
});

/**
 * A broker outside the database, as Pub/Sub is, that holds every publish until `open()`: the
 * submits then all wait on it at once, as on a slow network.
 */
function heldBroker(expected: number) {
  const sent: { topic: string; data: unknown; attributes: Record<string, string> }[] = [];
  let open!: () => void;
  let allArrived!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  const arrived = new Promise<void>((resolve) => (allArrived = resolve));
  const transport: Transport = {
    async publish(topic, data, attributes) {
      sent.push({ topic, data, attributes });
      if (sent.length === expected) allArrived();
      await opened;
      return `m-${sent.length}`;
    },
    async ping() {},
  };
  return { sent, arrived, open, transport };
}

it(`publishes ${CONCURRENT} concurrent submits to a broker outside the database holding no connection, and marks them together`, async () => {
  const { tenantId } = await newTenantKey(env.db, 'enterprise');
  const principal = { tenantId, tenantName: 'broker', tier: 'enterprise' as const, keyId: randomUUID() };
  const broker = heldBroker(CONCURRENT);
  let marks = 0;
  const count = (q: { sql: string }) => {
    if (/^UPDATE outbox SET published_at/.test(q.sql)) marks++;
  };
  env.db.on('query', count);
  try {
    const submits = Promise.all(
      Array.from({ length: CONCURRENT }, (_, i) =>
        submitJob(env.db, principal, jobRequest(200 + i), { bus: broker.transport }),
      ),
    );
    // Every submit waits on the broker at once, which a pool of two allows only if none holds a
    // connection meanwhile; and the pool still serves.
    await Promise.race([
      broker.arrived,
      submits.then(() => {
        throw new Error('the submits ended before all of them reached the broker');
      }),
    ]);
    expect(await env.db.raw('SELECT 1 AS one')).toMatchObject({ rows: [{ one: 1 }] });
    broker.open();
    const accepted = await submits;

    const ids = accepted.map((a) => a.job_id);
    expect(new Set(ids).size).toBe(CONCURRENT);
    expect(broker.sent.map((m) => m.topic)).toEqual(ids.map(() => 'pipeline-jobs'));
    expect(broker.sent.map((m) => (m.data as { job_id: string }).job_id).sort()).toEqual([...ids].sort());
    const rows = await env
      .db('outbox')
      .whereRaw("payload->>'job_id' = ANY(?)", [ids])
      .select('id', 'published_at', 'attempts');
    expect(rows).toHaveLength(CONCURRENT);
    expect(rows.filter((r) => r.published_at === null || r.attempts !== 1)).toEqual([]);
    expect(broker.sent.map((m) => m.attributes.outbox_id).sort()).toEqual(rows.map((r) => String(r.id)).sort());
    // The marks after commit shared statements too.
    expect(marks).toBeGreaterThan(0);
    // The first mark goes alone; the rest arrive together once the broker answers.
    expect(marks).toBeLessThanOrEqual(3);
    // Nothing went through the local bus.
    expect(await busMessagesOf(ids)).toBe(0);
  } finally {
    env.db.off('query', count);
  }
});
