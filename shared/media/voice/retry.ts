import { BreakerOpenError, circuitBreaker, type Breaker } from '../../resilience';
import { MediaError } from '../errors';

export interface RetryPolicy {
  /** Longest wait for one request, answer included. */
  timeoutMs: number;
  /** Attempts after the first one. */
  retries: number;
  /** Pause before the first retry; it doubles with each further one, with jitter. */
  backoffMs: number;
}

/** The policy with defaults for what `overrides` leaves out. */
export function retryPolicy(overrides: Partial<RetryPolicy>): RetryPolicy {
  return {
    timeoutMs: overrides.timeoutMs ?? 60_000,
    retries: overrides.retries ?? 3,
    backoffMs: overrides.backoffMs ?? 500,
  };
}

/** The longest pause between attempts, however many have failed. */
const MAX_BACKOFF_MS = 10_000;
/** A provider asking to be left alone longer than this is unavailable for this job. */
const MAX_RETRY_AFTER_MS = 30_000;

/** A failure worth another attempt: overload, a server error, a lost connection, no answer in time. */
export class TransientVoiceError extends Error {
  constructor(
    message: string,
    /** What the provider asked for (Retry-After), when it did. */
    public readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'TransientVoiceError';
  }
}

/**
 * The circuit breaker of one provider. Each request counts, a job's retries included: the breaker
 * measures what the provider answers request by request, so a job's next retry is refused (and
 * the job stops at once) when the provider's failures opened it meanwhile, its half-open trial is
 * a single request, and a blip a retry got past counts one failure beside one success. Only
 * TransientVoiceError counts against it: a refusal of the request (voice_rejected) shows that the
 * provider answers.
 */
export function providerBreaker(name: string): Breaker {
  return circuitBreaker({ name, isFailure: (err) => err instanceof TransientVoiceError });
}

/**
 * Runs `attempt` through `breaker` until it succeeds, throws anything but a TransientVoiceError,
 * or the retries run out (MediaError('voice_provider_unavailable')); a breaker that refuses an
 * attempt ends it all at once with the same code and no request made, to be tried again later.
 * Each attempt gets a signal that fires at the policy's timeout or when `signal` does; `signal`
 * firing ends everything with MediaError('processing_timeout'), as the VoiceEngine contract says.
 */
export async function withRetries<T>(
  provider: string,
  policy: RetryPolicy,
  breaker: Breaker,
  signal: AbortSignal | undefined,
  attempt: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  let last: TransientVoiceError | undefined;
  let attempts = 0;
  while (attempts <= policy.retries) {
    if (last) {
      const pause = Math.max(backoffDelay(attempts - 1, policy.backoffMs), last.retryAfterMs ?? 0);
      if (pause > MAX_RETRY_AFTER_MS) {
        last = new TransientVoiceError(`${last.message} (asked to wait ${Math.ceil(pause / 1000)} s)`);
        break;
      }
      await sleep(pause, provider, signal);
    }
    if (signal?.aborted) throw stopped(provider);
    try {
      return await breaker.run(() => attemptOnce(provider, policy.timeoutMs, signal, attempt));
    } catch (err) {
      if (signal?.aborted) throw stopped(provider);
      if (err instanceof BreakerOpenError) throw refused(provider, err, attempts, last);
      attempts += 1;
      if (err instanceof TransientVoiceError) last = err;
      else throw err;
    }
  }
  throw new MediaError(
    'voice_provider_unavailable',
    `${provider} is unavailable: ${attempts} attempt${attempts === 1 ? '' : 's'} failed, the last with: ${last?.message}`,
    last?.message,
  );
}

/**
 * One request under its own deadline: running out of it is a TransientVoiceError like any other
 * provider trouble, while the caller's abort is not the provider's doing and counts against no
 * breaker.
 */
async function attemptOnce<T>(
  provider: string,
  timeoutMs: number,
  signal: AbortSignal | undefined,
  attempt: (signal: AbortSignal) => Promise<T>,
): Promise<T> {
  const timeout = AbortSignal.timeout(timeoutMs);
  try {
    return await attempt(signal ? AbortSignal.any([signal, timeout]) : timeout);
  } catch (err) {
    if (signal?.aborted) throw stopped(provider);
    if (timeout.aborted) throw new TransientVoiceError(`no answer within ${timeoutMs} ms`);
    throw err;
  }
}

/** The breaker refused the next attempt: nothing was sent, and the job is to try again later. */
function refused(
  provider: string,
  err: BreakerOpenError,
  made: number,
  last: TransientVoiceError | undefined,
): MediaError {
  const before = last ? ` (${made} attempt${made === 1 ? '' : 's'} failed first, the last with: ${last.message})` : '';
  return new MediaError(
    'voice_provider_unavailable',
    `${provider} is unavailable: too many of its recent requests failed, so no request is sent for now${before}`,
    err.message,
  );
}

/**
 * Exponential backoff with "equal jitter": half the step is kept, half is random, so workers that
 * failed together do not retry together, yet no retry comes straight back.
 */
export function backoffDelay(retry: number, baseMs: number, random: () => number = Math.random): number {
  const step = Math.min(MAX_BACKOFF_MS, baseMs * 2 ** retry);
  return step / 2 + random() * (step / 2);
}

/** Retry-After as seconds or an HTTP date, in milliseconds; undefined when absent or unreadable. */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (!header) return undefined;
  if (/^\d+$/.test(header.trim())) return Number(header) * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

function sleep(ms: number, provider: string, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(stopped(provider));
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(stopped(provider));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function stopped(provider: string): MediaError {
  return new MediaError('processing_timeout', `stopped while waiting for ${provider}`);
}
