/**
 * Requests the rate limiter refused (429), per instance: which budget (submit or read), which
 * window refused (the one that ends last among the full ones, as the answer's RateLimit names it)
 * and whether the caller was a tenant or an anonymous address.
 */
import type { Counter } from 'prom-client';

let refusals: Counter<'policy' | 'window' | 'caller'> | undefined;

/** The counter, made (and prom-client loaded) with the first refusal or scrape rather than at a cold start. */
export function rateLimitRefusals(): Counter<'policy' | 'window' | 'caller'> {
  if (refusals) return refusals;
  const { Counter } = require('prom-client') as typeof import('prom-client');
  const { registry } = require('./registry') as typeof import('./registry');
  refusals = new Counter({
    name: 'aiprod_rate_limit_refusals_total',
    help: 'Requests refused with 429 by the rate limiter, by budget (submit, read), refusing window (minute, hour, day) and caller (tenant, anonymous).',
    labelNames: ['policy', 'window', 'caller'] as const,
    registers: [registry],
  });
  return refusals;
}
