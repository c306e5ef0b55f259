/**
 * How the Secret Manager and Cloud KMS adapters call Google: each request under its own deadline,
 * retried with backoff while the service is in passing trouble, the library's own retries off so
 * the two do not multiply. Calls that are not idempotent retry only on answers that say the
 * request was not carried out.
 */
import { isTransientError } from '../resilience/transient';

export interface CallPolicy {
  /** Attempts in all, the first one included. */
  attempts: number;
  /** Pause before the second attempt; it doubles with each further one, with jitter. */
  backoffMs: number;
  /** Longest wait for one request. */
  timeoutMs: number;
}

export const DEFAULT_CALL_POLICY: CallPolicy = { attempts: 4, backoffMs: 200, timeoutMs: 10_000 };

/** The call options that hand the deadline to the library and keep its retries off. */
export const callOptions = (policy: CallPolicy) => ({ timeout: policy.timeoutMs, retry: null });

/** gRPC codes that say the service refused the request before doing anything: RESOURCE_EXHAUSTED, UNAVAILABLE. */
const NOT_CARRIED_OUT = new Set([8, 14]);

/** A payload whose checksum does not match: damaged on the way, so a second read may be whole. */
export class ChecksumMismatchError extends Error {
  override readonly name = 'ChecksumMismatchError';
}

export type Retry = 'idempotent' | 'not-idempotent';

export function retryable(err: unknown, kind: Retry): boolean {
  if (err instanceof ChecksumMismatchError) return true;
  if (kind === 'idempotent') return isTransientError(err);
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'number' && NOT_CARRIED_OUT.has(code);
}

/** Runs `call` until it succeeds, fails in a way no retry fixes, or the attempts run out (the last error is thrown). */
export async function withRetries<T>(policy: CallPolicy, kind: Retry, call: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      if (attempt >= policy.attempts || !retryable(err, kind)) throw err;
      const step = policy.backoffMs * 2 ** (attempt - 1);
      await new Promise((resolve) => setTimeout(resolve, step / 2 + Math.random() * (step / 2)));
    }
  }
}

/** The gRPC status of a library error, when it carries one. */
export function grpcCode(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'number' && code < 100 ? code : undefined;
}

/** The words of a library error: its details when it has them, else its message. */
export function errorWords(err: unknown): string {
  const { details, message } = (err ?? {}) as { details?: unknown; message?: unknown };
  return typeof details === 'string' && details ? details : String(message ?? err);
}

/** A protobuf Timestamp ({seconds, nanos}, seconds possibly a Long or a string) as a Date. */
export function timestampDate(t: { seconds?: unknown; nanos?: unknown } | null | undefined): Date {
  const seconds = Number(String(t?.seconds ?? 0));
  const nanos = typeof t?.nanos === 'number' ? t.nanos : 0;
  return new Date(seconds * 1000 + Math.floor(nanos / 1e6));
}
