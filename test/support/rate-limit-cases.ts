/**
 * The rate-limit contract over real HTTP through the local stack, for whichever counter store the
 * environment gives it (memory in api.test.ts, Redis in rate-limit-redis.test.ts): every window of
 * the tier table enforced and advertised, the RateLimit fields well-formed per
 * draft-ietf-httpapi-ratelimit-headers, a 429 naming the window that refused. The clock is moved
 * rather than waited for; every quota comes from the tier table itself.
 */
import { TIERS, type Tier } from '../../shared/auth/api-keys';
import { setClock } from '../../shared/clock';
import { resetConfig } from '../../shared/config';
import {
  ANONYMOUS_LIMITS,
  type Quotas,
  type RatePolicy,
  type RateWindow,
  TIER_LIMITS,
  WINDOW_SECONDS,
} from '../../shared/http/rate-limit';
import type { Stack } from '../../shared/local/stack';
import { newTenantKey, type TestEnv } from './database';
import { type Item, parseList } from './structured-fields';

export interface RateLimitContext {
  stack: Stack;
  env: TestEnv;
}

const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
/** Midnight UTC of a day far from the real clock; each case takes its own day after it. */
const BASE = Date.UTC(2031, 4, 12);

/** What RateLimit-Policy must list for these quotas, in the order minute, hour, day. */
export const policiesOf = (quotas: Quotas): Item[] =>
  (Object.keys(WINDOW_SECONDS) as RateWindow[])
    .filter((w) => quotas[w] !== undefined)
    .map((w) => ({ value: w, isString: true, params: { q: quotas[w]!, w: WINDOW_SECONDS[w] } }));

export function rateLimitCases(ctx: () => RateLimitContext): void {
  let at = 0;
  beforeEach(() => setClock(() => at));
  afterEach(() => setClock());

  const send = async (method: string, path: string, key: string | null, json?: unknown, forwardedFor?: string) => {
    const headers: Record<string, string> = {};
    if (forwardedFor) headers['x-forwarded-for'] = forwardedFor;
    if (key) headers.authorization = `Bearer ${key}`;
    if (json !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${ctx().stack.url}${path}`, {
      method,
      headers,
      body: json === undefined ? undefined : JSON.stringify(json),
    });
    const body = (await res.json()) as Record<string, any>;
    return { status: res.status, headers: res.headers, body };
  };
  // A submit-policy call the handler answers at once: a free tenant may not register webhooks (403).
  const submit = (key: string) => send('POST', '/webhooks', key, {});
  const read = (key: string) => send('GET', '/usage', key);
  const call: Record<RatePolicy, (key: string) => ReturnType<typeof send>> = { submit, read };
  /** `n` submits at once, all expected through the limiter (free tenants get 403 from the handler). */
  const burst = async (key: string, n: number): Promise<number[]> =>
    Promise.all(Array.from({ length: n }, async () => (await submit(key)).status));

  const expectRefusedBy = (r: Awaited<ReturnType<typeof send>>, window: RateWindow, retryAfter: number) => {
    expect(r.status).toBe(429);
    expect(r.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect(r.body.code).toBe('rate_limited');
    expect(r.body.detail).toContain(`per ${window}`);
    expect(r.headers.get('retry-after')).toBe(String(retryAfter));
    expect(parseList(r.headers.get('ratelimit'))).toEqual([
      { value: window, isString: true, params: { r: 0, t: retryAfter } },
    ]);
  };

  const free = TIER_LIMITS.free.submit as Required<Quotas>;

  it.each(TIERS.map((t) => [t]))(
    'advertises the %s tier table as RateLimit-Policy, one policy per window, and the closest in RateLimit',
    async (tier: Tier) => {
      const { key } = await newTenantKey(ctx().env.db, tier);
      at = BASE + 20_000;
      for (const policy of ['submit', 'read'] as const) {
        const quotas = TIER_LIMITS[tier][policy];
        const r = await call[policy](key);
        expect(r.status).not.toBe(429);
        expect(parseList(r.headers.get('ratelimit-policy'))).toEqual(policiesOf(quotas));
        // The minute has the fewest requests left; it ends in 40 s.
        expect(parseList(r.headers.get('ratelimit'))).toEqual([
          { value: 'minute', isString: true, params: { r: quotas.minute! - 1, t: 40 } },
        ]);
      }
      expect(TIER_LIMITS[tier].submit.day === undefined).toBe(tier === 'enterprise');
    },
  );

  it('refuses past the minute window with 429 naming it, Retry-After at its end; other budgets untouched', async () => {
    const tenant = await newTenantKey(ctx().env.db, 'free');
    const other = await newTenantKey(ctx().env.db, 'free');
    at = BASE + 1 * DAY + 15_000;
    expect(await burst(tenant.key, free.minute)).toEqual(Array(free.minute).fill(403));
    expectRefusedBy(await submit(tenant.key), 'minute', 45);
    expect((await read(tenant.key)).status).toBe(200);
    expect((await submit(other.key)).status).toBe(403);
    at += 45_000;
    expect((await submit(tenant.key)).status).toBe(403);
  });

  it('refuses past the hour window, and a refused request does not count against it', async () => {
    const { key } = await newTenantKey(ctx().env.db, 'free');
    const start = BASE + 2 * DAY;
    const minutes = free.hour / free.minute;
    for (let m = 0; m < minutes; m++) {
      at = start + m * MINUTE;
      // Were the refused requests of the minutes before counted, the hour would be full already.
      expect(await burst(key, free.minute)).toEqual(Array(free.minute).fill(403));
      // One more each minute; in the last one both windows are full and the hour, ending later, refuses.
      if (m < minutes - 1) expectRefusedBy(await submit(key), 'minute', 60);
      else expectRefusedBy(await submit(key), 'hour', 3600 - m * 60);
    }
    at = start + minutes * MINUTE;
    expectRefusedBy(await submit(key), 'hour', 3600 - minutes * 60);
    at = start + HOUR;
    expect((await submit(key)).status).toBe(403);
  });

  it('names the hour in RateLimit once it has as few requests left as the minute, since it binds longer', async () => {
    const { key } = await newTenantKey(ctx().env.db, 'free');
    const start = BASE + 3 * DAY;
    const minutes = free.hour / free.minute;
    for (let m = 0; m < minutes - 1; m++) {
      at = start + m * MINUTE;
      await burst(key, free.minute);
    }
    at = start + (minutes - 1) * MINUTE;
    const r = await submit(key);
    expect(r.status).toBe(403);
    expect(parseList(r.headers.get('ratelimit'))).toEqual([
      { value: 'hour', isString: true, params: { r: free.minute - 1, t: 3600 - (minutes - 1) * 60 } },
    ]);
  });

  it('refuses past the day window until midnight UTC', async () => {
    const { key } = await newTenantKey(ctx().env.db, 'free');
    const start = BASE + 4 * DAY;
    const hours = free.day / free.hour;
    const minutes = free.hour / free.minute;
    for (let h = 0; h < hours; h++) {
      for (let m = 0; m < minutes; m++) {
        at = start + h * HOUR + m * MINUTE;
        expect(await burst(key, free.minute)).toEqual(Array(free.minute).fill(403));
      }
    }
    at = start + hours * HOUR;
    expectRefusedBy(await submit(key), 'day', 86_400 - hours * 3600);
    at = start + DAY;
    expect((await submit(key)).status).toBe(403);
  });

  it('limits callers without a key per address and minute on public endpoints', async () => {
    const quotas = ANONYMOUS_LIMITS.read as Required<Pick<Quotas, 'minute'>>;
    at = BASE + 5 * DAY + 30_000;
    const first = await send('GET', '/presets', null);
    expect(first.status).toBe(200);
    expect(parseList(first.headers.get('ratelimit-policy'))).toEqual(policiesOf(quotas));
    for (let sent = 1; sent < quotas.minute; sent += 50) {
      const n = Math.min(50, quotas.minute - sent);
      const statuses = await Promise.all(
        Array.from({ length: n }, async () => (await send('GET', '/presets', null)).status),
      );
      expect(statuses).toEqual(Array(n).fill(200));
    }
    expectRefusedBy(await send('GET', '/presets', null), 'minute', 30);
  });

  it('counts a caller without a key by the address its proxy appended, whatever it writes before it', async () => {
    const quotas = ANONYMOUS_LIMITS.read as Required<Pick<Quotas, 'minute'>>;
    at = BASE + 7 * DAY + 30_000;
    // One trusted hop, as locally: the last entry stands for the one the load balancer appends.
    let spoofed = 0;
    const from = (address: string) =>
      send('GET', '/presets', null, undefined, `198.18.${++spoofed % 250}.1, ${address}`);
    for (let sent = 0; sent < quotas.minute; sent += 50) {
      const n = Math.min(50, quotas.minute - sent);
      const statuses = await Promise.all(Array.from({ length: n }, async () => (await from('203.0.113.7')).status));
      expect(statuses).toEqual(Array(n).fill(200));
    }
    expectRefusedBy(await from('203.0.113.7'), 'minute', 30);
    expect((await from('203.0.113.8')).status).toBe(200);
  });

  it("applies a tier change at the next verification of the key, the tenant's counts carried over", async () => {
    const tenant = await newTenantKey(ctx().env.db, 'free');
    at = BASE + 6 * DAY + 10_000;
    await burst(tenant.key, free.minute);
    expectRefusedBy(await submit(tenant.key), 'minute', 50);
    await ctx().env.db('tenants').where({ id: tenant.tenantId }).update({ tier: 'pro' });
    // The key cache would hold the old tier for AIPROD_API_KEY_CACHE_SECONDS; here it lets go at once.
    const cacheSeconds = process.env.AIPROD_API_KEY_CACHE_SECONDS;
    process.env.AIPROD_API_KEY_CACHE_SECONDS = '0';
    resetConfig();
    try {
      const r = await submit(tenant.key);
      expect(r.status).toBe(422); // pro may register webhooks: the empty body is now what is wrong
      const pro = TIER_LIMITS.pro.submit;
      expect(parseList(r.headers.get('ratelimit-policy'))).toEqual(policiesOf(pro));
      expect(parseList(r.headers.get('ratelimit'))).toEqual([
        { value: 'minute', isString: true, params: { r: pro.minute! - free.minute - 1, t: 50 } },
      ]);
    } finally {
      if (cacheSeconds === undefined) delete process.env.AIPROD_API_KEY_CACHE_SECONDS;
      else process.env.AIPROD_API_KEY_CACHE_SECONDS = cacheSeconds;
      resetConfig();
    }
  });
}
