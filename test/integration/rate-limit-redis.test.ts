/**
 * With REDIS_URL set the counters live in Redis, so every instance of a function shares them.
 * Runs whenever REDIS_URL is set (CI sets it) and then fails if Redis does not answer; without
 * it, the suite reports these tests as skipped, saying why (the in-memory fallback is covered by
 * api.test.ts).
 */
import { createServer, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import express from 'express';
import Redis from 'ioredis';
import { resetConfig } from '../../shared/config';
import { closeRedis } from '../../shared/cache/redis';
import { rateLimiter } from '../../shared/http/rate-limit';

const url = process.env.REDIS_URL;
const describeWithRedis = url ? describe : describe.skip;
const servers: Server[] = [];

describeWithRedis(`rate limits in Redis${url ? '' : ' (skipped: REDIS_URL is unset)'}`, () => {
  beforeAll(async () => {
    const probe = new Redis(url!, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 2000 });
    probe.on('error', () => undefined);
    try {
      await probe.connect();
      expect(await probe.ping()).toBe('PONG');
    } finally {
      probe.disconnect();
    }
    Object.assign(process.env, { DATABASE_URL: 'postgres://unused@127.0.0.1/unused' });
    resetConfig();
  });

  afterAll(async () => {
    await closeRedis();
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    resetConfig();
  });

  it('shares one tenant budget across two instances', async () => {
    const tenant = randomUUID();
    const [a, b] = [await instance(tenant), await instance(tenant)];
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) statuses.push((await fetch(i % 2 ? a : b, { method: 'POST' })).status);
    expect(statuses.filter((s) => s === 202)).toHaveLength(10);
    expect(statuses.slice(10)).toEqual([429, 429]);
  });
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
