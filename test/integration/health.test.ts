/**
 * The health probes over real HTTP, on the local stack and on the health function in a process of
 * its own, against a real PostgreSQL and Redis: each probe names its checks with status and
 * latency, 200 when all pass; a pending migration fails startup, a Redis nobody listens on and an
 * unreachable database fail readiness (503 with Retry-After) while liveness stays 200; probes are
 * never rate-limited.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { closeRedis } from '../../shared/cache/redis';
import { resetConfig } from '../../shared/config';
import { migrationNames } from '../../shared/db/migrate';
import type { Stack } from '../../shared/local/stack';
import { freePort } from '../../shared/net/free-port';
import { closeTestEnv, type TestEnv, useTestEnv } from '../support/database';
import { type ChildServer, startFunction } from '../support/function-child';
import { startTestStack } from '../support/stack';

let env: TestEnv;
let stack: Stack;

beforeAll(async () => {
  env = await useTestEnv({ AIPROD_LOCAL_WORKERS: '0' });
  stack = await startTestStack(env);
});

afterAll(async () => {
  await stack.stop();
  await closeTestEnv();
  await closeRedis();
});

async function probe(base: string, path: string) {
  const res = await fetch(`${base}${path}`);
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, any> };
}

const passed = { status: 'ok', latency_ms: expect.any(Number) };
/** Redis is checked when it is configured, as CI configures it. */
const withRedis = process.env.REDIS_URL ? ['redis'] : [];

describe('on the local stack', () => {
  it.each([
    ['/health/startup', 'startup', ['configuration', 'migrations']],
    ['/health/live', 'live', []],
    ['/health/ready', 'ready', ['database', ...withRedis, 'bus']],
    ['/health', 'ready', ['database', ...withRedis, 'bus']],
  ])('GET %s answers 200 with every check of the %s probe passed', async (path, name, checks) => {
    const r = await probe(stack.url, path);
    expect(r.status).toBe(200);
    expect(r.headers.get('cache-control')).toBe('no-store');
    expect(r.headers.get('retry-after')).toBeNull();
    expect(r.body).toEqual({
      status: 'ok',
      probe: name,
      checks: Object.fromEntries(checks.map((c) => [c, passed])),
    });
    for (const c of checks) expect(r.body.checks[c].latency_ms).toBeGreaterThanOrEqual(0);
  });

  it('is never rate-limited', async () => {
    // Past the 300 reads a minute an address without a key gets.
    for (let i = 0; i < 320; i++) {
      const res = await fetch(`${stack.url}/health/live`);
      expect(res.status).toBe(200);
      expect(res.headers.get('ratelimit-policy')).toBeNull();
      await res.arrayBuffer();
    }
  });

  it('knows every migration file, so that startup checks each of them', () => {
    const files = readdirSync(join(__dirname, '../../shared/db/migrations')).map((f) => f.replace(/\.ts$/, ''));
    expect(migrationNames()).toEqual(files.sort());
  });

  it('fails startup with 503 while a migration is pending, and passes again once it is applied', async () => {
    const newest = await env.db('knex_migrations').orderBy('id', 'desc').first();
    await env.db('knex_migrations').where({ id: newest.id }).delete();
    try {
      const r = await probe(stack.url, '/health/startup');
      expect(r.status).toBe(503);
      expect(r.headers.get('retry-after')).toBe('5');
      expect(r.body).toEqual({
        status: 'unavailable',
        probe: 'startup',
        checks: {
          configuration: passed,
          migrations: { status: 'fail', latency_ms: expect.any(Number), error: `1 pending: ${newest.name}` },
        },
      });
      // Readiness is about reaching dependencies, not the schema.
      expect((await probe(stack.url, '/health/ready')).status).toBe(200);
    } finally {
      await env.db('knex_migrations').insert(newest);
    }
    expect((await probe(stack.url, '/health/startup')).status).toBe(200);
  });

  it('fails readiness with 503 when Redis does not answer, liveness still 200', async () => {
    const configured = process.env.REDIS_URL;
    // A port nobody listens on: Redis stopped.
    process.env.REDIS_URL = `redis://127.0.0.1:${await freePort()}`;
    resetConfig();
    await closeRedis();
    try {
      const r = await probe(stack.url, '/health/ready');
      expect(r.status).toBe(503);
      expect(r.headers.get('retry-after')).toBe('5');
      expect(r.body).toEqual({
        status: 'unavailable',
        probe: 'ready',
        checks: {
          database: passed,
          redis: { status: 'fail', latency_ms: expect.any(Number), error: expect.any(String) },
          bus: passed,
        },
      });
      expect((await probe(stack.url, '/health/live')).status).toBe(200);
      expect((await probe(stack.url, '/health/startup')).status).toBe(200);
    } finally {
      if (configured === undefined) delete process.env.REDIS_URL;
      else process.env.REDIS_URL = configured;
      resetConfig();
      await closeRedis();
    }
  });
});

describe('the health function, its database unreachable', () => {
  let child: ChildServer;

  beforeAll(async () => {
    // What a function sees when Cloud SQL is down: nothing accepts the connection.
    const nowhere = new URL(env.url);
    nowhere.port = String(await freePort());
    child = await startFunction('health', { DATABASE_URL: nowhere.toString() });
  });

  afterAll(() => child.kill());

  it('fails readiness and startup with 503 naming the checks that failed, liveness still 200', async () => {
    const ready = await probe(child.url, '/health/ready');
    expect(ready.status).toBe(503);
    expect(ready.headers.get('retry-after')).toBe('5');
    const failed = { status: 'fail', latency_ms: expect.any(Number), error: 'unreachable' };
    // The local bus lives in the database, so it is down with it; Redis is not.
    expect(ready.body).toEqual({
      status: 'unavailable',
      probe: 'ready',
      checks: { database: failed, ...Object.fromEntries(withRedis.map((c) => [c, passed])), bus: failed },
    });
    expect((await probe(child.url, '/health')).body).toMatchObject({ status: 'unavailable', probe: 'ready' });

    const startup = await probe(child.url, '/health/startup');
    expect(startup.status).toBe(503);
    expect(startup.body.checks).toEqual({ configuration: passed, migrations: failed });

    const live = await probe(child.url, '/health/live');
    expect(live.status).toBe(200);
    expect(live.body).toEqual({ status: 'ok', probe: 'live', checks: {} });
  });
});
