/**
 * Open-loop load: each endpoint's requests are due at a fixed rate, evenly spaced from a common
 * start, and each goes out when it is due whether or not the earlier ones have been answered. A
 * slow server therefore shows as latency, counted from when a request was due (so a late client
 * tick is counted too), never as fewer requests offered: the opposite of a closed loop, where each
 * connection waits for its answer before it sends again and a slow server quietly lowers the rate.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Calls `fire(due)` for each of the ceil(rate x seconds) requests of the schedule, `due` being the
 * time it was due (performance.now() milliseconds); resolves once the last is fired, or at once on
 * `signal`.
 */
export async function openLoop(
  schedule: { rate: number; seconds: number; start: number },
  fire: (due: number) => void,
  signal: AbortSignal,
): Promise<void> {
  const interval = 1000 / schedule.rate;
  // Rounded first: a share of the rate such as 200 x 0.55 is a hair over 110 in floating point.
  const count = Math.ceil(Number((schedule.rate * schedule.seconds).toFixed(6)));
  for (let i = 0; i < count && !signal.aborted; i++) {
    const due = schedule.start + i * interval;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    if (!signal.aborted) fire(due);
  }
}
