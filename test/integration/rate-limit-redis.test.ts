/**
 * The rate limits with their counters in Redis, over real HTTP through the local stack: every
 * window of the tier table (the cases of api.test.ts, here against Redis), the counters kept in
 * Redis where every instance shares them, and a Redis outage that is logged and never fails a
 * request. Runs whenever REDIS_URL is set (CI sets it) and then fails if Redis does not answer;
 * without it, the suite reports these tests as skipped, saying why (api.test.ts covers the
 * in-memory counters).
 */
import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import { loadFunction } from '../../functions';
import { closeRedis } from '../../shared/cache/redis';
import { setClock } from '../../shared/clock';
import { resetConfig } from '../../shared/config';
import { TIER_LIMITS } from '../../shared/http/rate-limit';
import { startStack, type Stack } from '../../shared/local/stack';
import { logger } from '../../shared/log';
import { freePort } from '../../shared/net/free-port';
import { closeTestEnv, newTenantKey, type TestEnv, useTestEnv } from '../support/database';
import { rateLimitCases } from '../support/rate-limit-cases';
import { parseList } from '../support/structured-fields';

const url = process.env.REDIS_URL;
const describeWithRedis = url ? describe : describe.skip;
/** This run's counters, apart from any other run's in the same Redis. */
const prefix = `rl-test-${randomBytes(6).toString('hex')}:`;

let env: TestEnv;
let stack: Stack;
let probe: Redis;

describeWithRedis(`rate limits in Redis${url ? '' : ' (skipped: REDIS_URL is unset)'}`, () => {
  beforeAll(async () => {
    probe = new Redis(url!, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 2000 });
    probe.on('error', () => undefined);
    await probe.connect();
    expect(await probe.ping()).toBe('PONG');
    env = await useTestEnv({ AIPROD_LOCAL_WORKERS: '0', AIPROD_RATE_LIMIT_PREFIX: prefix });
    stack = await startStack({ loadFunction, port: 0, dataDir: env.dataDir, maintenanceSeconds: 0 });
  });

  afterAll(async () => {
    if (probe?.status === 'ready') {
      const keys = await probe.keys(`${prefix}*`);
      if (keys.length > 0) await probe.del(...keys);
    }
    probe?.disconnect();
    await stack?.stop();
    await closeTestEnv();
    await closeRedis();
    resetConfig();
  });

  rateLimitCases(() => ({ stack, env }));

  const submit = (key: string) =>
    fetch(`${stack.url}/webhooks`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: '{}',
    });

  describe('with the clock at a fixed instant', () => {
    const at = Date.UTC(2032, 2, 3, 4, 5, 6);
    beforeEach(() => setClock(() => at));
    afterEach(() => setClock());

    it("keeps a tenant's counters in Redis, so another instance's requests count against the same budget", async () => {
      const { key, tenantId } = await newTenantKey(env.db, 'free');
      for (let i = 0; i < 3; i++) expect((await submit(key)).status).toBe(403);
      const keys = (await probe.keys(`${prefix}*${tenantId}*`)).sort();
      const free = TIER_LIMITS.free.submit;
      // One counter per window of the tier, each at 3, each expiring soon after its window ends.
      expect(keys).toHaveLength(Object.keys(free).length);
      for (const k of keys) {
        expect(await probe.get(k)).toBe('3');
        const windowSeconds = Number(k.split(':').at(-2));
        const ttl = await probe.pttl(k);
        expect(ttl).toBeGreaterThan(0);
        expect(ttl).toBeLessThanOrEqual(windowSeconds * 1000 + 5_000);
      }
      // Another instance takes the rest of the minute: this one now refuses.
      const minuteKey = keys.find((k) => k.split(':').at(-2) === '60')!;
      await probe.incrby(minuteKey, free.minute! - 3);
      const refused = await submit(key);
      expect(refused.status).toBe(429);
      expect(parseList(refused.headers.get('ratelimit'))).toEqual([
        { value: 'minute', isString: true, params: { r: 0, t: 54 } },
      ]);
    });

    it('serves through a Redis outage, logging it once and counting in memory meanwhile', async () => {
      const warn = jest.spyOn(logger(), 'warn');
      process.env.REDIS_URL = `redis://127.0.0.1:${await freePort()}`;
      resetConfig();
      await closeRedis();
      try {
        const { key } = await newTenantKey(env.db, 'free');
        const minute = TIER_LIMITS.free.submit.minute!;
        const statuses: number[] = [];
        for (let i = 0; i < minute; i++) statuses.push((await submit(key)).status);
        expect(statuses).toEqual(Array(minute).fill(403));
        // The limits still hold, in this instance's memory.
        expect((await submit(key)).status).toBe(429);
        const outage = warn.mock.calls.filter(([message]) =>
          String(message).startsWith('rate limits: Redis unavailable'),
        );
        expect(outage).toHaveLength(1);
      } finally {
        warn.mockRestore();
        process.env.REDIS_URL = url;
        resetConfig();
        await closeRedis();
      }
    });
  });
});
