/**
 * Circuit breakers (opossum) around the dependencies a job or a publish waits on. A breaker counts
 * its calls in a rolling window; once enough of them failed transiently it opens and refuses every
 * call at once, without making it, so a provider that keeps failing is not hammered and callers
 * fail fast instead of waiting out timeouts and retries. After the reset time it lets one trial call
 * through (half-open): a success closes it, a failure opens it again for another reset time.
 */
import CircuitBreaker from 'opossum';
import { config, type Config } from '../config';
import { logger } from '../log';
import { trackBreaker, type BreakerState } from './metrics';

export type { BreakerState };

export interface BreakerSettings {
  /** The breaker opens when more than this share (percent) of the calls in the window failed. */
  failurePercent: number;
  /** Calls the window must hold before the share counts: a few failures of a quiet dependency do not open it. */
  minCalls: number;
  windowMs: number;
  /** How long an open breaker refuses calls before it lets a trial call through. */
  resetMs: number;
}

/** The settings every breaker takes from configuration (AIPROD_BREAKER_*). */
export function breakerSettings(c: Config = config()): BreakerSettings {
  return {
    failurePercent: c.AIPROD_BREAKER_FAILURE_PERCENT,
    minCalls: c.AIPROD_BREAKER_MIN_CALLS,
    windowMs: c.AIPROD_BREAKER_WINDOW_SECONDS * 1000,
    resetMs: c.AIPROD_BREAKER_RESET_MS,
  };
}

/** A call refused by an open breaker (or one whose trial call is under way): nothing was sent. */
export class BreakerOpenError extends Error {
  override readonly name = 'BreakerOpenError';

  constructor(
    readonly breaker: string,
    readonly state: BreakerState,
  ) {
    super(
      `circuit breaker ${breaker} is ${state === 'open' ? 'open' : 'half-open, its trial call under way'}: the call was not made`,
    );
  }
}

export interface Breaker {
  readonly name: string;
  readonly state: BreakerState;
  /**
   * Makes `call` unless the breaker is open (then rejects with BreakerOpenError at once). Its
   * rejection counts against the breaker only when `isFailure` says so; anything else it throws,
   * or returns, shows that the dependency answers.
   */
  run<T>(call: () => Promise<T>): Promise<T>;
}

export interface BreakerOptions {
  /** `<kind>:<dependency>`, e.g. voice:elevenlabs: the label of its series and the field of its log lines. */
  name: string;
  /** The dependency's own trouble (overload, outage, timeout), never a refusal of the caller's request. */
  isFailure: (err: unknown) => boolean;
  /** Settings other than configuration's (tests). */
  settings?: BreakerSettings;
}

/**
 * A named breaker. Each name should be made once per process (the engine, library or transport
 * that owns it is); the state gauge reports the latest breaker made under a name.
 */
export function circuitBreaker(opts: BreakerOptions): Breaker {
  const { name, isFailure } = opts;
  const settings = opts.settings ?? breakerSettings();
  const breaker = new CircuitBreaker((call: () => Promise<unknown>) => call(), {
    name,
    // The callers bound their own calls (a request timeout, the job's signal): a second clock here
    // would leave calls running that the breaker already counted as failed.
    timeout: false,
    errorThresholdPercentage: settings.failurePercent,
    volumeThreshold: settings.minCalls,
    rollingCountTimeout: settings.windowMs,
    rollingCountBuckets: 10,
    resetTimeout: settings.resetMs,
    errorFilter: (err: unknown) => !isFailure(err),
    rollingPercentilesEnabled: false,
    enableSnapshots: false,
  });
  const state = (): BreakerState => (breaker.opened ? 'open' : breaker.halfOpen ? 'half_open' : 'closed');
  const metrics = trackBreaker(name, state);
  const log = logger();

  breaker.on('failure', () => metrics.failed());
  breaker.on('reject', () => metrics.rejected());
  // One line per change of state, never per refused call: an outage is a handful of lines.
  breaker.on('open', () => {
    metrics.opened();
    const { failures, fires } = breaker.stats;
    log.warn('circuit breaker opened: calls are refused', {
      event: 'circuit_breaker.opened',
      breaker: name,
      failures,
      calls: fires,
      retryInMs: settings.resetMs,
    });
  });
  breaker.on('halfOpen', () =>
    log.info('circuit breaker half-open: one trial call goes through', {
      event: 'circuit_breaker.half_open',
      breaker: name,
    }),
  );
  breaker.on('close', () =>
    log.info('circuit breaker closed: calls go through', { event: 'circuit_breaker.closed', breaker: name }),
  );

  return {
    name,
    get state() {
      return state();
    },
    async run<T>(call: () => Promise<T>): Promise<T> {
      try {
        return (await breaker.fire(call)) as T;
      } catch (err) {
        if (err instanceof Error && CircuitBreaker.isOurError(err)) throw new BreakerOpenError(name, state());
        throw err;
      }
    },
  };
}
