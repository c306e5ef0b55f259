/**
 * What one delivery attempt's answer means, and when the next attempt is due. Pure functions: the
 * deliverer (deliveries.ts) applies them.
 *
 * - 2xx: delivered.
 * - 410 Gone: the receiver says it is gone for good; the webhook is disabled at once.
 * - 408, 429, 5xx, no answer in time, a connection that fails: retried on the schedule, not
 *   before the receiver's Retry-After (capped).
 * - Any other status (other 4xx, a 3xx, since redirects are never followed) and a URL the guard
 *   refuses: that delivery fails for good; retrying would get the same answer.
 */

export type Verdict = 'succeeded' | 'retry' | 'failed' | 'gone';

/** What an attempt came back with: the receiver's status, or why there was none. */
export interface Answer {
  status: number | null;
  /** Without a status: the guard refused the URL (`forbidden`), or no answer (`unreachable`, `timeout`). */
  failure?: 'forbidden' | 'unreachable' | 'timeout';
}

export function verdictOf(answer: Answer): Verdict {
  const s = answer.status;
  if (s === null) return answer.failure === 'forbidden' ? 'failed' : 'retry';
  if (s >= 200 && s <= 299) return 'succeeded';
  if (s === 410) return 'gone';
  if (s === 408 || s === 429 || s >= 500) return 'retry';
  return 'failed';
}

/** +-10%: deliveries that failed together do not all come back at the same second. */
export function withJitter(seconds: number, random: () => number = Math.random): number {
  return seconds * (0.9 + 0.2 * random());
}

/**
 * The wait before the next attempt once `attemptsMade` attempts were made, jittered; null when the
 * schedule has no attempt left. `schedule[i]` is the wait before attempt i+1 (the first one's included).
 */
export function nextWaitSeconds(
  schedule: readonly number[],
  attemptsMade: number,
  random: () => number = Math.random,
): number | null {
  const wait = schedule[attemptsMade];
  return wait === undefined ? null : withJitter(wait, random);
}

/**
 * A `Retry-After` header as seconds from `now`: delay-seconds or an HTTP date (RFC 9110 10.2.3);
 * null when absent or unreadable, 0 for a date in the past.
 */
export function retryAfterSeconds(header: string | string[] | undefined, now = new Date()): number | null {
  const value = (Array.isArray(header) ? header[0] : header)?.trim();
  if (!value) return null;
  if (/^\d+$/.test(value)) return Number(value);
  const at = Date.parse(value);
  if (Number.isNaN(at) || !/[a-z]/i.test(value)) return null;
  return Math.max(0, (at - now.getTime()) / 1000);
}

/** The wait before a retry: the schedule's, but never shorter than the receiver's Retry-After (up to `capSeconds`). */
export function retryWaitSeconds(scheduled: number, retryAfter: number | null, capSeconds: number): number {
  return retryAfter === null ? scheduled : Math.max(scheduled, Math.min(retryAfter, capSeconds));
}
