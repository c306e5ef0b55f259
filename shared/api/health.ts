/**
 * GET /health/startup, /health/live, /health/ready, and /health (readiness, as it has always
 * meant): each names every check of its probe (shared/health/probes.ts) with its status and
 * latency, 200 when all passed, 503 with Retry-After when one failed. Public, never rate-limited,
 * never cached; every check has a short timeout, so a probe never hangs.
 */
import type { Request, Response } from 'express';
import { runChecks } from '../health/checks';
import { PROBES, probeChecks, type Probe } from '../health/probes';

/** A failed probe is worth asking again soon: most failures are a dependency starting or restarting. */
const RETRY_AFTER_SECONDS = 5;

function probeOf(path: string): Probe {
  const named = /^\/health\/([a-z]+)\/?$/.exec(path)?.[1];
  return PROBES.find((p) => p === named) ?? 'ready';
}

export async function health(req: Request, res: Response): Promise<void> {
  const probe = probeOf(req.path);
  const report = await runChecks(probeChecks(probe));
  res.setHeader('Cache-Control', 'no-store');
  if (report.status !== 'ok') res.setHeader('Retry-After', String(RETRY_AFTER_SECONDS));
  res.status(report.status === 'ok' ? 200 : 503).json({ status: report.status, probe, checks: report.checks });
}
