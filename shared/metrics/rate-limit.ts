/**
 * Requests the rate limiter refused (429), per instance: which budget (submit or read), which
 * window refused (the one that ends last among the full ones, as the answer's RateLimit names it)
 * and whether the caller was a tenant or an anonymous address.
 */
import { Counter } from 'prom-client';
import { registry } from './registry';

export const rateLimitRefusals = new Counter({
  name: 'aiprod_rate_limit_refusals_total',
  help: 'Requests refused with 429 by the rate limiter, by budget (submit, read), refusing window (minute, hour, day) and caller (tenant, anonymous).',
  labelNames: ['policy', 'window', 'caller'] as const,
  registers: [registry],
});
