/**
 * Per-tenant rate limits by tier (roadmap API-3.10): requests per minute, per hour and per day,
 * every window enforced at once (rate-windows.ts counts them, in Redis when REDIS_URL is set) and
 * advertised with the IETF RateLimit header fields (draft-ietf-httpapi-ratelimit-headers-08):
 * `RateLimit-Policy` lists every window of the caller's budget, `RateLimit` gives the service limit
 * of the one closest to its end, or, on a 429, of the window that refused the request, which
 * `Retry-After` and the problem's detail name too. Callers without a key (public endpoints) are
 * limited per IP address and minute.
 *
 * The tier is read from the principal, so a tier change applies as soon as the instance verifies
 * the key again (AIPROD_API_KEY_CACHE_SECONDS); the counts are per tenant, not per tier, so what a
 * tenant used in the current windows still counts under its new limits.
 */
import type { Request, RequestHandler } from 'express';
import { TIERS, type Tier } from '../auth/api-keys';
import { now } from '../clock';
import { rateLimitRefusals } from '../metrics/rate-limit';
import { HttpProblem } from './problem';
import { hitWindows, type Hit, type WindowCount, type WindowSpec } from './rate-windows';

/**
 * express-rate-limit's key of an address (an IPv6 caller counted per /56, as it can pick any address
 * in its prefix), loaded with the first keyless request: API-key routes never need it at cold start.
 */
function ipKey(ip: string): string {
  const { ipKeyGenerator } = require('express-rate-limit') as typeof import('express-rate-limit');
  return ipKeyGenerator(ip);
}

export type RatePolicy = 'submit' | 'read';
export type RateWindow = 'minute' | 'hour' | 'day';

export const WINDOW_SECONDS: Readonly<Record<RateWindow, number>> = { minute: 60, hour: 3_600, day: 86_400 };

/** Requests allowed per window; a window left out has no limit. */
export type Quotas = Partial<Record<RateWindow, number>>;

/** The roadmap's requests per minute, hour and day of each tier; enterprise has no daily cap. */
const SUBMITS: Readonly<Record<Tier, Quotas>> = {
  free: { minute: 10, hour: 100, day: 1_000 },
  pro: { minute: 100, hour: 2_000, day: 50_000 },
  enterprise: { minute: 1_000, hour: 100_000 },
};

/** A partner polls a job many times while it runs: reads get twelve times every submit window. */
const READS_PER_SUBMIT = 12;

const scaled = (quotas: Quotas, factor: number): Quotas =>
  Object.fromEntries(Object.entries(quotas).map(([w, n]) => [w, n * factor]));

export const TIER_LIMITS: Readonly<Record<Tier, Readonly<Record<RatePolicy, Quotas>>>> = {
  free: { submit: SUBMITS.free, read: scaled(SUBMITS.free, READS_PER_SUBMIT) },
  pro: { submit: SUBMITS.pro, read: scaled(SUBMITS.pro, READS_PER_SUBMIT) },
  enterprise: { submit: SUBMITS.enterprise, read: scaled(SUBMITS.enterprise, READS_PER_SUBMIT) },
};

/** Callers without a key (public endpoints), per IP address. */
export const ANONYMOUS_LIMITS: Readonly<Record<RatePolicy, Quotas>> = {
  submit: { minute: 10 },
  read: { minute: 300 },
};

const WINDOWS = Object.keys(WINDOW_SECONDS) as RateWindow[];

const specs = (quotas: Quotas): WindowSpec[] =>
  WINDOWS.flatMap((name) => {
    const limit = quotas[name];
    return limit === undefined ? [] : [{ name, seconds: WINDOW_SECONDS[name], limit }];
  });

const remaining = (w: WindowCount): number => Math.max(0, w.limit - w.count);

/** The window with the fewest requests left; of two alike, the one that ends later binds longer. */
const closest = (windows: WindowCount[]): WindowCount =>
  windows.reduce((a, b) =>
    remaining(b) < remaining(a) || (remaining(b) === remaining(a) && b.resetSeconds > a.resetSeconds) ? b : a,
  );

/** Of the full windows, the one that ends last: no request passes before it ends. */
const refusing = (windows: WindowCount[]): WindowCount =>
  windows.filter((w) => remaining(w) === 0).reduce((a, b) => (b.resetSeconds > a.resetSeconds ? b : a));

/** Structured-field lists (RFC 8941): each policy a String item with Integer parameters. */
const policyField = (windows: WindowSpec[]): string =>
  windows.map((w) => `"${w.name}";q=${w.limit};w=${w.seconds}`).join(', ');

const serviceLimitField = (w: WindowCount): string => `"${w.name}";r=${remaining(w)};t=${w.resetSeconds}`;

/** A caller's windows and their RateLimit-Policy field, which depend on its tier alone. */
interface Budget {
  windows: WindowSpec[];
  policy: string;
}

const budget = (quotas: Quotas): Budget => {
  const windows = specs(quotas);
  return { windows, policy: policyField(windows) };
};

export function rateLimiter(policy: RatePolicy): RequestHandler {
  const tiers = Object.fromEntries(TIERS.map((tier) => [tier, budget(TIER_LIMITS[tier][policy])])) as Record<
    Tier,
    Budget
  >;
  const anonymous = budget(ANONYMOUS_LIMITS[policy]);
  return (req: Request, res, next) => {
    const principal = req.principal;
    const { windows, policy: policyHeader } = principal ? tiers[principal.tier] : anonymous;
    const subject = principal ? `t:${principal.tenantId}` : `ip:${ipKey(req.ip ?? '0.0.0.0')}`;
    const answer = (hit: Hit): void => {
      res.setHeader('RateLimit-Policy', policyHeader);
      const window = hit.allowed ? closest(hit.windows) : refusing(hit.windows);
      res.setHeader('RateLimit', serviceLimitField(window));
      if (hit.allowed) return next();
      rateLimitRefusals().inc({ policy, window: window.name, caller: principal ? 'tenant' : 'anonymous' });
      next(
        new HttpProblem(
          429,
          'rate_limited',
          'Too many requests',
          `Limit of ${window.limit} requests per ${window.name} reached; retry in ${window.resetSeconds} s.`,
          undefined,
          // The draft asks the reset parameter and Retry-After to name the same instant.
          { 'Retry-After': String(window.resetSeconds) },
        ),
      );
    };
    const hit = hitWindows(`${policy}:${subject}`, windows, now());
    if (hit instanceof Promise) hit.then(answer, next);
    else answer(hit);
  };
}
