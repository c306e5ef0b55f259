/**
 * With REDIS_URL set the counters live in Redis, so every instance of a function shares them.
 * Runs where a Redis server answers (REDIS_URL, or 127.0.0.1:6379); Redis is optional elsewhere.
 */
import { createServer, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import express from 'express';
import Redis from 'ioredis';
import { resetConfig } from '../../shared/config';
import { closeRedis } from '../../shared/cache/redis';
import { rateLimiter } from '../../shared/http/rate-limit';

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

async function reachable(): Promise<boolean> {
  const probe = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    connectTimeout: 500,
    retryStrategy: () => null,
  });
  probe.on('error', () => undefined);
  try {
    await probe.connect();
    await probe.ping();
    return true;
  } catch {
    return false;
  } finally {
    probe.disconnect();
  }
}

let available = false;
const servers: Server[] = [];

beforeAll(async () => {
  available = await reachable();
  if (!available) {
    console.warn(
      `Redis not reachable at ${url}: the shared-counter test is skipped (the in-memory fallback is covered by api.test.ts)`,
    );
    return;
  }
  Object.assign(process.env, { REDIS_URL: url, DATABASE_URL: 'postgres://unused@127.0.0.1/unused' });
  resetConfig();
});

afterAll(async () => {
  await closeRedis();
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  delete process.env.REDIS_URL;
  resetConfig();
});

async function instance(tenantId: string): Promise<string> {
  const app = express();
  app.use((req, _res, next) => {
    req.principal = { tenantId, tenantName: 't', tier: 'free', keyId: 'k' };
    next();
  });
  app.post('/x', rateLimiter('submit'), (_req, res) => void res.status(202).end());
  app.use(
    (err: { status?: number }, _req: express.Request, res: express.Response, _next: express.NextFunction) =>
      void res.status(err.status ?? 500).end(),
  );
  const server = createServer(app);
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/x`;
}

it('shares one tenant budget across two instances', async () => {
  if (!available) return;
  const tenant = randomUUID();
  const [a, b] = [await instance(tenant), await instance(tenant)];
  const statuses: number[] = [];
  for (let i = 0; i < 12; i++) statuses.push((await fetch(i % 2 ? a : b, { method: 'POST' })).status);
  expect(statuses.filter((s) => s === 202)).toHaveLength(10);
  expect(statuses.slice(10)).toEqual([429, 429]);
});
