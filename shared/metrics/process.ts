/**
 * prom-client's default metrics of the process (CPU, memory, heap, event loop lag, GC, handles),
 * less the three gauges it names with `_total` (nodejs_active_handles_total, _requests_total,
 * _resources_total): Prometheus keeps that suffix for counters and promtool refuses it on a gauge,
 * and each is only the sum of its labelled twin (nodejs_active_handles{type}, ...), which stays.
 */
import { collectDefaultMetrics, type Registry } from 'prom-client';

const GAUGES_NAMED_LIKE_COUNTERS = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

export function registerProcessMetrics(registry: Registry): void {
  collectDefaultMetrics({ register: registry });
  for (const name of GAUGES_NAMED_LIKE_COUNTERS) registry.removeSingleMetric(name);
}
