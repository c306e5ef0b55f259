/**
 * One stretch of the mix: every endpoint on its own open loop at its share of the rate, from one
 * common start, for a number of seconds; then the requests still in flight are awaited, so that
 * the slowest answers are counted rather than dropped.
 */
import { performance } from 'node:perf_hooks';
import { CallFailed, type HttpClient } from './client';
import { ENDPOINTS, type Endpoint } from './endpoints';
import { openLoop } from './open-loop';
import { EndpointStats } from './stats';
import type { Workload } from './workload';

export type Rates = Record<Endpoint, number>;

export interface Window {
  /** performance.now() when the first requests were due. */
  start: number;
  seconds: number;
  stats: Record<Endpoint, EndpointStats>;
}

/** The loops start a little after they are set up, so that the first requests are not all late. */
const START_DELAY_MS = 20;

export async function runWindow(
  client: HttpClient,
  workload: Workload,
  rates: Rates,
  seconds: number,
  signal: AbortSignal,
): Promise<Window> {
  const stats = Object.fromEntries(ENDPOINTS.map((e) => [e, new EndpointStats()])) as Record<Endpoint, EndpointStats>;
  const inFlight = new Set<Promise<void>>();
  const start = performance.now() + START_DELAY_MS;

  let unexpected: unknown;
  const fire = (endpoint: Endpoint, due: number): void => {
    const s = stats[endpoint];
    s.due++;
    const planned = workload.plan(endpoint);
    if (!planned) {
      s.skipped++;
      return;
    }
    const sent: Promise<void> = client
      .send(planned.call)
      .then((answer) => {
        s.answered(answer.status, due, performance.now());
        planned.onAnswer?.(answer);
      })
      .catch((err: unknown) => {
        if (err instanceof CallFailed) s.failed(err.kind, due, performance.now());
        else unexpected ??= err;
      })
      .finally(() => inFlight.delete(sent));
    inFlight.add(sent);
  };

  await Promise.all(
    ENDPOINTS.filter((e) => rates[e] > 0).map((e) =>
      openLoop({ rate: rates[e], seconds, start }, (due) => fire(e, due), signal),
    ),
  );
  await Promise.all(inFlight);
  if (unexpected) throw unexpected;
  return { start, seconds, stats };
}
