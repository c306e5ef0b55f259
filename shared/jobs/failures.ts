/**
 * Which failures end a job (bad input, bad media: retrying cannot help), which are a dependency's
 * passing trouble (a voice provider down, or refused by its open circuit breaker: tried again
 * later, failing the job with their code only on its last attempt), and which are the platform's
 * own (database, storage, a crash: Pub/Sub retries them).
 */
import { MediaError } from '../media';
import { FetchError } from '../net';

export interface JobFailure {
  code: string;
  message: string;
}

/** Codes of a dependency that is down for now: the next attempt, after the redelivery's backoff, may find it back. */
const RETRIED_CODES: ReadonlySet<string> = new Set(['voice_provider_unavailable']);

/**
 * The failure the job ends with, or null when the attempt is to be retried. `lastAttempt`: the job
 * has no attempt left, so a dependency still down fails it, with a code that says which.
 */
export function finalFailure(err: unknown, lastAttempt: boolean): JobFailure | null {
  if (!(err instanceof FetchError || err instanceof MediaError)) return null;
  if (RETRIED_CODES.has(err.code) && !lastAttempt) return null;
  return { code: err.code, message: err.message };
}
