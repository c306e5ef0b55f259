/**
 * The breakers' series in the process's registry: the state of each (read when scraped, so it is
 * never stale), and counters of what moved it, so a breaker that opened and closed between two
 * scrapes still shows.
 */
import type { Counter } from 'prom-client';

export type BreakerState = 'closed' | 'half_open' | 'open';

/** The gauge's value of each state: 0 closed, 1 half-open, 2 open; higher is worse, so max() over instances reads right. */
export const STATE_VALUES: Readonly<Record<BreakerState, number>> = { closed: 0, half_open: 1, open: 2 };

/** The breakers whose state the gauge reports: the latest one made under each name. */
const tracked = new Map<string, () => BreakerState>();

interface Counters {
  rejected: Counter<'breaker'>;
  failures: Counter<'breaker'>;
  opened: Counter<'breaker'>;
}
let counters: Counters | undefined;

/**
 * The series, in the process's registry, made once: with the first breaker (a job's voice engine,
 * the first publish) or the first scrape, so prom-client is not loaded at a cold start.
 */
export function breakerSeries(): Counters {
  if (counters) return counters;
  const { Counter, Gauge } = require('prom-client') as typeof import('prom-client');
  const { registry } = require('../metrics/registry') as typeof import('../metrics/registry');
  new Gauge({
    name: 'aiprod_circuit_breaker_state',
    help: 'State of each circuit breaker: 0 closed (calls go through), 1 half-open (one trial call), 2 open (calls refused).',
    labelNames: ['breaker'],
    registers: [registry],
    collect() {
      for (const [breaker, state] of tracked) this.set({ breaker }, STATE_VALUES[state()]);
    },
  });
  const counter = (name: string, help: string) =>
    new Counter({ name, help, labelNames: ['breaker'] as const, registers: [registry] });
  counters = {
    rejected: counter(
      'aiprod_circuit_breaker_rejected_calls_total',
      'Calls a circuit breaker refused without making them, because it was open or its trial call was under way.',
    ),
    failures: counter(
      'aiprod_circuit_breaker_failures_total',
      'Calls that failed transiently (overload, outage, lost connection, timeout) and counted toward opening their breaker.',
    ),
    opened: counter(
      'aiprod_circuit_breaker_opened_total',
      'Times a circuit breaker opened, its half-open trial failing included.',
    ),
  };
  return counters;
}

export interface BreakerMetrics {
  rejected(): void;
  failed(): void;
  opened(): void;
}

/** Starts reporting the breaker `name` (every series at 0 until something happens) and returns its counters. */
export function trackBreaker(name: string, state: () => BreakerState): BreakerMetrics {
  tracked.set(name, state);
  const { rejected, failures, opened } = breakerSeries();
  const labels = { breaker: name };
  for (const counter of [rejected, failures, opened]) counter.inc(labels, 0);
  return {
    rejected: () => rejected.inc(labels),
    failed: () => failures.inc(labels),
    opened: () => opened.inc(labels),
  };
}
