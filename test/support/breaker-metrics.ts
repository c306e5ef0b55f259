/** What the process's registry says about its circuit breakers, as GET /metrics would render it. */
import { registry } from '../../shared/metrics/registry';

/** The value of one series of `metric` for the breaker `name`; undefined when there is none. */
export async function breakerSeries(metric: string, name: string): Promise<number | undefined> {
  const text = await registry.metrics();
  const line = text.split('\n').find((l) => l.startsWith(`${metric}{breaker="${name}"} `));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

/** 0 closed, 1 half-open, 2 open, from `aiprod_circuit_breaker_state`. */
export const breakerState = (name: string): Promise<number | undefined> =>
  breakerSeries('aiprod_circuit_breaker_state', name);

/** Waits, polling, until the breaker's gauge reads `value`; a generous bound only turns a hang into a message. */
export async function untilBreakerState(name: string, value: number, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const state = await breakerState(name);
    if (state === value) return;
    if (Date.now() > deadline) throw new Error(`breaker ${name} still reads ${state}, not ${value}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
