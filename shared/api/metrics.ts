/**
 * GET /metrics: the Prometheus text exposition of the process's registry (docs/metrics.md).
 *
 * What only a scrape reads is registered here, by the function that serves it, rather than in
 * every function: the process's default metrics (event loop, memory, GC, which sample the
 * process), the database pool's usage, and the system-wide figures read from the database.
 * Request, rate-limit and breaker series are counted where they happen (createApp, the rate
 * limiter, the breakers), which make them on first use; made here too, so a scrape lists them
 * before anything was counted.
 */
import type { Request, Response } from 'express';
import { db } from '../db';
import { registerPoolMetrics } from '../metrics/pool';
import { registerProcessMetrics } from '../metrics/process';
import { registry } from '../metrics/registry';
import { registerSystemMetrics } from '../metrics/system';
import { rateLimitRefusals } from '../metrics/rate-limit';
import { requestSeries } from '../metrics/requests';
import { breakerSeries } from '../resilience/metrics';

registerProcessMetrics(registry);
registerPoolMetrics(registry);
registerSystemMetrics(registry, db);
requestSeries();
rateLimitRefusals();
breakerSeries();

export async function metrics(_req: Request, res: Response): Promise<void> {
  const body = await registry.metrics();
  res.setHeader('Cache-Control', 'no-store');
  res.type(registry.contentType).send(body);
}
