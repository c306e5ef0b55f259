/**
 * Per-tenant rate limits by tier (roadmap API-3.10), with the IETF RateLimit headers. Counters live
 * in Redis when REDIS_URL is set, so every instance of a function shares them; without it each
 * instance counts on its own (the in-memory fallback of the embedded default). A Redis outage lets
 * requests through rather than failing them.
 */
import type { Request, RequestHandler } from 'express';
import { ipKeyGenerator, rateLimit, type RateLimitInfo, Store } from 'express-rate-limit';
import { RedisStore, type RedisReply } from 'rate-limit-redis';
import type { Tier } from '../auth/api-keys';
import { redis } from '../cache/redis';
import { HttpProblem } from './problem';

export type RatePolicy = 'submit' | 'read';

/** Requests per minute. */
const TIER_LIMITS: Record<Tier, Record<RatePolicy, number>> = {
  free: { submit: 10, read: 120 },
  pro: { submit: 100, read: 1200 },
  enterprise: { submit: 1000, read: 12000 },
};
/** Callers without a key (public endpoints) are limited per IP address. */
const ANONYMOUS: Record<RatePolicy, number> = { submit: 10, read: 300 };

function store(policy: RatePolicy): Store | undefined {
  const client = redis();
  if (!client) return undefined;
  return new RedisStore({
    prefix: `rl:${policy}:`,
    sendCommand: (command: string, ...args: string[]) => client.call(command, ...args) as Promise<RedisReply>,
  });
}

export function rateLimiter(policy: RatePolicy): RequestHandler {
  return rateLimit({
    windowMs: 60_000,
    limit: (req: Request) => (req.principal ? TIER_LIMITS[req.principal.tier][policy] : ANONYMOUS[policy]),
    keyGenerator: (req: Request) =>
      req.principal ? `t:${req.principal.tenantId}` : `ip:${ipKeyGenerator(req.ip ?? '0.0.0.0')}`,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    identifier: policy,
    store: store(policy),
    passOnStoreError: true,
    handler: (req, _res, next, options) => {
      const info = (req as Request & { rateLimit?: RateLimitInfo }).rateLimit;
      const reset = info?.resetTime?.getTime();
      const retryAfter = Math.max(1, Math.ceil(((reset ?? Date.now() + options.windowMs) - Date.now()) / 1000));
      next(
        new HttpProblem(
          429,
          'rate_limited',
          'Too many requests',
          `Limit of ${info?.limit} requests per minute reached; retry in ${retryAfter} s.`,
          undefined,
          {
            'Retry-After': String(retryAfter),
          },
        ),
      );
    },
  });
}
