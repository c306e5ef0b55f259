/**
 * The breakers' series in the process's registry: the state of each (read when scraped, so it is
 * never stale), and counters of what moved it, so a breaker that opened and closed between two
 * scrapes still shows.
 */
import { Counter, Gauge } from 'prom-client';
import { registry } from '../metrics/registry';

export type BreakerState = 'closed' | 'half_open' | 'open';

/** The gauge's value of each state: 0 closed, 1 half-open, 2 open; higher is worse, so max() over instances reads right. */
export const STATE_VALUES: Readonly<Record<BreakerState, number>> = { closed: 0, half_open: 1, open: 2 };

/** The breakers whose state the gauge reports: the latest one made under each name. */
const tracked = new Map<string, () => BreakerState>();

new Gauge({
  name: 'aiprod_circuit_breaker_state',
  help: 'State of each circuit breaker: 0 closed (calls go through), 1 half-open (one trial call), 2 open (calls refused).',
  labelNames: ['breaker'],
  registers: [registry],
  collect() {
    for (const [breaker, state] of tracked) this.set({ breaker }, STATE_VALUES[state()]);
  },
});

const rejected = new Counter({
  name: 'aiprod_circuit_breaker_rejected_calls_total',
  help: 'Calls a circuit breaker refused without making them, because it was open or its trial call was under way.',
  labelNames: ['breaker'],
  registers: [registry],
});

const failures = new Counter({
  name: 'aiprod_circuit_breaker_failures_total',
  help: 'Calls that failed transiently (overload, outage, lost connection, timeout) and counted toward opening their breaker.',
  labelNames: ['breaker'],
  registers: [registry],
});

const opened = new Counter({
  name: 'aiprod_circuit_breaker_opened_total',
  help: 'Times a circuit breaker opened, its half-open trial failing included.',
  labelNames: ['breaker'],
  registers: [registry],
});

export interface BreakerMetrics {
  rejected(): void;
  failed(): void;
  opened(): void;
}

/** Starts reporting the breaker `name` (every series at 0 until something happens) and returns its counters. */
export function trackBreaker(name: string, state: () => BreakerState): BreakerMetrics {
  tracked.set(name, state);
  const labels = { breaker: name };
  for (const counter of [rejected, failures, opened]) counter.inc(labels, 0);
  return {
    rejected: () => rejected.inc(labels),
    failed: () => failures.inc(labels),
    opened: () => opened.inc(labels),
  };
}
