/**
 * Usage metering and GET /usage over real HTTP through the local stack, against a real PostgreSQL:
 * every authenticated call counted per tenant, UTC day and endpoint and priced by the roadmap's
 * cost table and the tier; no statement of its own per call, one per flush; the flush on the
 * timer and at shutdown (an instance in its own process); the report's grouping, ranges and
 * errors; media seconds of completed jobs; tenant isolation.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { loadFunction } from '../../functions';
import { closeRedis } from '../../shared/cache/redis';
import { setClock } from '../../shared/clock';
import { startStack, type Stack } from '../../shared/local/stack';
import { flushUsage } from '../../shared/usage/meter';
import { closeTestEnv, newTenantKey, type TestEnv, useTestEnv } from '../support/database';

let env: TestEnv;
let stack: Stack;

const DAY = 86_400_000;
/** The days the cases' calls happen on, far from the real clock, and a later day to read them. */
const D1 = '2031-03-01';
const D2 = '2031-03-02';
const D3 = '2031-03-03';
const LATER = Date.parse('2031-03-20T12:00:00Z');
const at = (day: string, time = '10:00:00') => Date.parse(`${day}T${time}Z`);

const dub = { video_url: 'https://videos.example.com/in/clip.mp4', voice_text: 'Welcome to the launch of the show.' };

async function call(method: string, path: string, key: string | null, json?: unknown) {
  const headers: Record<string, string> = {};
  if (key) headers.authorization = `Bearer ${key}`;
  if (json !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${stack.url}${path}`, {
    method,
    headers,
    body: json === undefined ? undefined : JSON.stringify(json),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, any> };
}

/** The tenant's usage as GET /usage answers it, read on a later day than the calls it reports. */
async function usage(key: string, query: string) {
  setClock(() => LATER);
  try {
    return await call('GET', `/usage?${query}`, key);
  } finally {
    setClock();
  }
}

/** Calls made with the clock at `ms`. */
async function on<T>(ms: number, calls: () => Promise<T>): Promise<T> {
  setClock(() => ms);
  try {
    return await calls();
  } finally {
    setClock();
  }
}

async function completedJob(tenantId: string, completedAt: string, durationSeconds: number, status = 'COMPLETED') {
  await env.db('jobs').insert({
    id: randomUUID(),
    tenant_id: tenantId,
    status,
    recipe: 'dub',
    request: dub,
    result: { duration_seconds: durationSeconds },
    completed_at: completedAt,
  });
}

beforeAll(async () => {
  env = await useTestEnv({
    AIPROD_LOCAL_WORKERS: '0',
    // Nothing is flushed behind a case's back: the cases flush when they mean to.
    AIPROD_USAGE_FLUSH_SECONDS: '3600',
    AIPROD_RATE_LIMIT_PREFIX: `rl-test-${randomBytes(6).toString('hex')}:`,
  });
  stack = await startStack({ loadFunction, port: 0, dataDir: env.dataDir, maintenanceSeconds: 0 });
});

afterAll(async () => {
  await stack.stop();
  await closeTestEnv();
  await closeRedis();
});

describe('metering', () => {
  it('counts every authenticated call per day and endpoint, priced from the cost table', async () => {
    const { key } = await newTenantKey(env.db, 'free');
    await on(at(D1), async () => {
      const jobs: string[] = [];
      for (let i = 0; i < 3; i++) {
        const r = await call('POST', '/pipeline/run', key, dub);
        expect(r.status).toBe(202);
        jobs.push(r.body.job_id);
      }
      expect((await call('GET', `/pipeline/${jobs[0]}`, key)).status).toBe(200);
      expect((await call('GET', `/pipeline/${jobs[1]}`, key)).status).toBe(200);
      // An answer that is not a success is a call all the same.
      expect((await call('GET', `/pipeline/${randomUUID()}`, key)).status).toBe(404);
    });
    await on(at(D2, '23:59:59'), async () => {
      expect((await call('POST', '/pipeline/run', key, dub)).status).toBe(202);
      expect((await call('POST', '/webhooks', key, {})).status).toBe(403);
    });
    // Unauthenticated calls are not the tenant's.
    expect((await call('POST', '/pipeline/run', null, dub)).status).toBe(401);
    await flushUsage();

    // Roadmap prices: POST /pipeline/run 0.50, GET /pipeline/{id} 0.01, any other endpoint 0.01; free pays them whole.
    const byDay = await usage(key, `from=${D1}&to=${D3}&group_by=day`);
    expect(byDay.status).toBe(200);
    expect(byDay.headers.get('cache-control')).toBe('no-store');
    expect(byDay.body).toEqual({
      from: D1,
      to: D3,
      group_by: 'day',
      data: [
        { day: D1, calls: 6, cost: 1.53, cost_micros: 1_530_000, media_seconds: 0 },
        { day: D2, calls: 2, cost: 0.51, cost_micros: 510_000, media_seconds: 0 },
      ],
      total: { calls: 8, cost: 2.04, cost_micros: 2_040_000, media_seconds: 0 },
    });

    const byEndpoint = await usage(key, `from=${D1}&to=${D2}&group_by=endpoint`);
    expect(byEndpoint.body).toEqual({
      from: D1,
      to: D2,
      group_by: 'endpoint',
      data: [
        { endpoint: 'GET /pipeline/{id}', calls: 3, cost: 0.03, cost_micros: 30_000 },
        { endpoint: 'POST /pipeline/run', calls: 4, cost: 2, cost_micros: 2_000_000 },
        { endpoint: 'POST /webhooks', calls: 1, cost: 0.01, cost_micros: 10_000 },
      ],
      total: { calls: 8, cost: 2.04, cost_micros: 2_040_000, media_seconds: 0 },
    });

    // The reads of the report are calls too, on the day they were made.
    await flushUsage();
    const later = new Date(LATER).toISOString().slice(0, 10);
    const reads = await usage(key, `from=${later}&to=${later}&group_by=endpoint`);
    expect(reads.body.data).toEqual([{ endpoint: 'GET /usage', calls: 2, cost: 0.02, cost_micros: 20_000 }]);
  });

  it.each([
    ['pro', 400_000],
    ['enterprise', 250_000],
  ] as const)('discounts a %s tenant', async (tier, micros) => {
    const { key } = await newTenantKey(env.db, tier);
    await on(at(D1), async () => expect((await call('POST', '/pipeline/run', key, dub)).status).toBe(202));
    await flushUsage();
    const r = await usage(key, `from=${D1}&to=${D1}&group_by=endpoint`);
    expect(r.body.data).toEqual([
      { endpoint: 'POST /pipeline/run', calls: 1, cost: micros / 1e6, cost_micros: micros },
    ]);
  });

  it('costs a call no database statement of its own; one flush writes them all in one', async () => {
    const { key, tenantId } = await newTenantKey(env.db, 'pro');
    const statements: string[] = [];
    const listen = (q: { sql: string }) => void (/usage_daily/.test(q.sql) && statements.push(q.sql));
    env.db.on('query', listen);
    try {
      await on(at(D1), async () => {
        for (let i = 0; i < 5; i++) expect((await call('GET', `/pipeline/${randomUUID()}`, key)).status).toBe(404);
        expect((await call('POST', '/pipeline/run', key, dub)).status).toBe(202);
      });
      expect(statements).toEqual([]);
      await flushUsage();
      expect(statements).toHaveLength(1);
      expect(statements[0]).toMatch(/^\s*INSERT INTO usage_daily/);
    } finally {
      env.db.off('query', listen);
    }
    const rows = await env.db('usage_daily').where({ tenant_id: tenantId }).orderBy('endpoint');
    expect(rows.map((r) => [r.endpoint, Number(r.calls)])).toEqual([
      ['GET /pipeline/{id}', 5],
      ['POST /pipeline/run', 1],
    ]);
    // A second flush adds to the same rows.
    await on(at(D1), async () => expect((await call('GET', `/pipeline/${randomUUID()}`, key)).status).toBe(404));
    await flushUsage();
    const again = await env.db('usage_daily').where({ tenant_id: tenantId, endpoint: 'GET /pipeline/{id}' }).first();
    expect(Number(again.calls)).toBe(6);
  });
});

describe('flushing an instance in its own process', () => {
  const child = (tenantId: string, calls: number, flushSeconds: number, mode = '') => {
    const proc = spawn(
      process.execPath,
      ['--import', 'tsx', join(__dirname, '../support/usage-child.ts'), tenantId, String(calls), mode],
      {
        env: { ...process.env, AIPROD_USAGE_FLUSH_SECONDS: String(flushSeconds) },
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    const ready = new Promise<void>((resolve, reject) => {
      proc.stdout.on('data', (chunk: Buffer) => chunk.toString().includes('ready') && resolve());
      proc.once('exit', (code) => reject(new Error(`the instance exited (${code}) before it was ready`)));
    });
    const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
    return { proc, ready, exited };
  };
  const calls = async (tenantId: string): Promise<number> =>
    Number((await env.db('usage_daily').where({ tenant_id: tenantId }).sum('calls as n').first())?.n ?? 0);

  it('flushes on its timer', async () => {
    const { tenantId } = await newTenantKey(env.db, 'free');
    const instance = child(tenantId, 7, 1);
    try {
      await instance.ready;
      const deadline = Date.now() + 20_000;
      while ((await calls(tenantId)) === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(await calls(tenantId)).toBe(7);
    } finally {
      instance.proc.kill('SIGKILL');
      await instance.exited;
    }
  });

  it.each([
    // The graceful shutdown (shared/lifecycle/shutdown.ts) flushes, then exits 0 either way.
    ['the functions-framework exits at once on SIGTERM', 'framework', 0],
    ['nothing else listens for SIGTERM', '', 0],
  ])('flushes at shutdown when %s', async (_when, mode, code) => {
    const { tenantId } = await newTenantKey(env.db, 'free');
    const instance = child(tenantId, 4, 3600, mode);
    await instance.ready;
    expect(await calls(tenantId)).toBe(0);
    instance.proc.kill('SIGTERM');
    expect(await instance.exited).toBe(code);
    expect(await calls(tenantId)).toBe(4);
  });
});

describe('GET /usage', () => {
  it("reports the media seconds of the tenant's completed jobs per day, days without calls included", async () => {
    const { key, tenantId } = await newTenantKey(env.db, 'pro');
    const other = await newTenantKey(env.db, 'pro');
    await completedJob(tenantId, `${D1}T08:00:00Z`, 12.5);
    await completedJob(tenantId, `${D1}T23:59:59.999Z`, 30.25);
    await completedJob(tenantId, `${D2}T00:00:00Z`, 60);
    await completedJob(tenantId, `${D1}T09:00:00Z`, 99, 'FAILED');
    await completedJob(tenantId, `${D3}T09:00:00Z`, 7);
    await completedJob(other.tenantId, `${D1}T09:00:00Z`, 1000);
    const r = await usage(key, `from=${D1}&to=${D2}`);
    expect(r.body).toEqual({
      from: D1,
      to: D2,
      group_by: 'day',
      data: [
        { day: D1, calls: 0, cost: 0, cost_micros: 0, media_seconds: 42.75 },
        { day: D2, calls: 0, cost: 0, cost_micros: 0, media_seconds: 60 },
      ],
      total: { calls: 0, cost: 0, cost_micros: 0, media_seconds: 102.75 },
    });
    const byEndpoint = await usage(key, `from=${D1}&to=${D2}&group_by=endpoint`);
    expect(byEndpoint.body).toMatchObject({ data: [], total: { media_seconds: 102.75 } });
  });

  it("reports only the caller's tenant", async () => {
    const a = await newTenantKey(env.db, 'pro');
    const b = await newTenantKey(env.db, 'pro');
    await on(at(D3), async () => expect((await call('POST', '/pipeline/run', a.key, dub)).status).toBe(202));
    await flushUsage();
    expect((await usage(a.key, `from=${D3}&to=${D3}`)).body.total.calls).toBe(1);
    expect((await usage(b.key, `from=${D3}&to=${D3}`)).body).toMatchObject({ data: [], total: { calls: 0 } });
  });

  it('reads the 30 days up to today (UTC) by day when no range is given', async () => {
    const { key } = await newTenantKey(env.db, 'pro');
    const r = await usage(key, '');
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      from: new Date(LATER - 29 * DAY).toISOString().slice(0, 10),
      to: new Date(LATER).toISOString().slice(0, 10),
      group_by: 'day',
    });
    // From alone: up to today.
    expect((await usage(key, 'from=2031-03-10')).body).toMatchObject({ from: '2031-03-10', to: '2031-03-20' });
  });

  it('accepts a range of 366 days', async () => {
    const { key } = await newTenantKey(env.db, 'pro');
    expect((await usage(key, 'from=2024-01-01&to=2024-12-31')).status).toBe(200);
  });

  it.each([
    ['from=2031-13-01', 'from', 'invalid_date'],
    ['to=2024-02-30', 'to', 'invalid_date'],
    ['to=0000-12-31', 'to', 'invalid_date'],
    ['from=20310301', 'from', 'invalid_date'],
    ['to=yesterday', 'to', 'invalid_date'],
    ['from=2031-03-02&to=2031-03-01', 'from', 'invalid_range'],
    ['from=2024-01-01&to=2025-01-01', 'from', 'range_too_long'],
    ['from=2031-03-21', 'from', 'invalid_range'],
    ['from=2031-03-01&from=2031-03-02', 'from', 'invalid_type'],
    ['group_by=week', 'group_by', 'unsupported_value'],
    ['tenant=someone-else', 'tenant', 'unknown_field'],
  ])('answers 422 for %s: %s %s', async (query, field, code) => {
    const { key } = await newTenantKey(env.db, 'pro');
    const r = await usage(key, query);
    expect(r.status).toBe(422);
    expect(r.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect(r.body).toMatchObject({ code: 'validation_failed', errors: [{ field, code }] });
  });

  it('answers 401 without a key', async () => {
    const r = await call('GET', '/usage', null);
    expect(r.status).toBe(401);
    expect(r.body.code).toBe('unauthorized');
  });
});
