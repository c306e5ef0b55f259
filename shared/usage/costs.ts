/**
 * The price of one call (roadmap API-3.10, `_calculate_cost`): a base price per endpoint, the
 * default for every endpoint the list does not name, times the tier's discount. Prices are kept in
 * millionths of the currency unit (micros), so sums of many calls stay exact.
 */
import type { Tier } from '../auth/api-keys';

/** Endpoints as `METHOD /path`, the path as the manifest declares it. */
const BASE_COST_MICROS: Readonly<Record<string, number>> = {
  'POST /pipeline/run': 500_000,
  'POST /pipeline/batch': 50_000,
  'GET /pipeline/{id}': 10_000,
};
const DEFAULT_COST_MICROS = 10_000;

const TIER_MULTIPLIER: Readonly<Record<Tier, number>> = { free: 1, pro: 0.8, enterprise: 0.5 };

export const callCostMicros = (endpoint: string, tier: Tier): number =>
  Math.round((BASE_COST_MICROS[endpoint] ?? DEFAULT_COST_MICROS) * TIER_MULTIPLIER[tier]);
