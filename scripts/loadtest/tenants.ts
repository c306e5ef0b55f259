/**
 * The load test's partners: how many it needs so that no tier limit is reached (the limits are not
 * what it measures), their tiers, and the address each one's requests come from.
 */
import { randomInt } from 'node:crypto';
import type { Tier } from '../../shared/auth/api-keys';
import {
  ANONYMOUS_LIMITS,
  TIER_LIMITS,
  WINDOW_SECONDS,
  type Quotas,
  type RateWindow,
} from '../../shared/http/rate-limit';
import type { TenantSet } from '../bench/database';
import type { Rates } from './load';

/** Pro and enterprise in turn: the tiers that integrate over the API at volume. */
const TIERS: readonly Tier[] = ['enterprise', 'pro'];

export const LOADTEST_TENANTS: TenantSet = {
  prefix: 'loadtest-',
  label: 'loadtest',
  tierOf: (i) => TIERS[(i - 1) % TIERS.length]!,
};

/** A tenant may use at most this share of any window of its tier's limits during a run. */
const HEADROOM = 0.5;

/**
 * The fewest tenants that keep each one within HEADROOM of every window of its tier over a run of
 * `seconds`, the load shared evenly between them: submits and reads against each tier's budgets,
 * GET /presets (public) against the anonymous budget of the tenant's address.
 */
export function tenantsNeeded(rates: Rates, seconds: number): number {
  let needed = 1;
  const need = (rate: number, quotas: Quotas): void => {
    for (const [window, limit] of Object.entries(quotas) as [RateWindow, number][]) {
      const requests = rate * Math.min(seconds, WINDOW_SECONDS[window]);
      needed = Math.max(needed, Math.ceil(requests / (HEADROOM * limit)));
    }
  };
  for (const tier of TIERS) {
    need(rates.submit, TIER_LIMITS[tier].submit);
    need(rates.status + rates.result + rates.list, TIER_LIMITS[tier].read);
  }
  need(rates.presets, ANONYMOUS_LIMITS.read);
  return needed;
}

/** 198.18.0.0/15, set aside for benchmarks (RFC 2544): no real client has these addresses. */
const BENCHMARK_NET = (198 << 24) | (18 << 16);
const BENCHMARK_SIZE = 2 ** 17;

/**
 * `count` distinct addresses, from a random place in the benchmark range: a run right after
 * another does not inherit its anonymous counters (kept a minute, in Redis when it is set).
 */
export function clientAddresses(count: number): string[] {
  const first = randomInt(1, BENCHMARK_SIZE - count - 1);
  return Array.from({ length: count }, (_, i) => {
    const n = (BENCHMARK_NET + first + i) >>> 0;
    return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
  });
}
