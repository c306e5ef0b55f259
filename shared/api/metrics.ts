/**
 * GET /metrics: the Prometheus text exposition of the process's registry (docs/metrics.md).
 *
 * What only a scrape reads is registered here, by the function that serves it, rather than in
 * every function: the process's default metrics (event loop, memory, GC, which sample the
 * process), the database pool's usage, and the system-wide figures read from the database.
 * Request and rate-limit metrics register where they are counted (createApp, the rate limiter).
 */
import type { Request, Response } from 'express';
import { db } from '../db';
import { registerPoolMetrics } from '../metrics/pool';
import { registerProcessMetrics } from '../metrics/process';
import { registry } from '../metrics/registry';
import { registerSystemMetrics } from '../metrics/system';

registerProcessMetrics(registry);
registerPoolMetrics(registry);
registerSystemMetrics(registry, db);

export async function metrics(_req: Request, res: Response): Promise<void> {
  const body = await registry.metrics();
  res.setHeader('Cache-Control', 'no-store');
  res.type(registry.contentType).send(body);
}
