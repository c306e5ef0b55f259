/**
 * Running a health probe's checks: all at once, each under its own timeout, so a probe answers
 * within CHECK_TIMEOUT_MS whatever hangs, and each result says how long its check took.
 */
import { performance } from 'node:perf_hooks';
import { logger } from '../log';

/**
 * Long enough for a cold instance's first round trip (a new connection, a token for Pub/Sub),
 * short enough that the health function (10 s timeout) and the prober always get an answer.
 */
export const CHECK_TIMEOUT_MS = 3000;

/** Why a check failed, in words fit for the probe's public answer. */
export class CheckFailed extends Error {}

/** One dependency's check: resolves when it is fine; `timeoutMs` bounds its own calls. */
export type Check = (timeoutMs: number) => Promise<void>;

export interface CheckResult {
  status: 'ok' | 'fail';
  latency_ms: number;
  error?: string;
}

export interface HealthReport {
  status: 'ok' | 'unavailable';
  checks: Record<string, CheckResult>;
}

const timedOut = (err: unknown): boolean =>
  err instanceof Error && (err.name === 'KnexTimeoutError' || err.name === 'TimeoutError');

async function runCheck(name: string, check: Check, timeoutMs: number): Promise<CheckResult> {
  const started = performance.now();
  const latency = (): number => Math.round((performance.now() - started) * 10) / 10;
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new CheckFailed(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([check(timeoutMs), deadline]);
    return { status: 'ok', latency_ms: latency() };
  } catch (err) {
    // Addresses and driver messages go to the log, not into a public answer.
    const error =
      err instanceof CheckFailed ? err.message : timedOut(err) ? `no answer within ${timeoutMs} ms` : 'unreachable';
    logger().warn('health check failed', { check: name, error: err });
    return { status: 'fail', latency_ms: latency(), error };
  } finally {
    clearTimeout(timer);
  }
}

/** Every check's result, and `ok` only when all of them passed. */
export async function runChecks(checks: Record<string, Check>, timeoutMs = CHECK_TIMEOUT_MS): Promise<HealthReport> {
  const names = Object.keys(checks);
  const results = await Promise.all(names.map((name) => runCheck(name, checks[name]!, timeoutMs)));
  return {
    status: results.every((r) => r.status === 'ok') ? 'ok' : 'unavailable',
    checks: Object.fromEntries(names.map((name, i) => [name, results[i]!])),
  };
}
