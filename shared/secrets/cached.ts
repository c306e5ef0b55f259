/**
 * A secret as a running function holds it: the value it started with (its environment variable)
 * until the TTL runs out, then the store's newest enabled version, re-read at most once per TTL.
 * The re-read happens beside the caller, who gets the value in hand meanwhile: opening a database
 * connection never waits on Secret Manager. A caller whose credential was just refused (a
 * database password rotated elsewhere) asks for a fresh read and waits for it. A store that fails
 * or has no version leaves the last good value in place: a Secret Manager blip must not take down
 * what works.
 */
import { logger } from '../log';
import { SecretNotFoundError, SecretVersionDisabledError, type SecretStore } from './store';

export interface Cached<T> {
  /** The value to use now; past the TTL the store is read again in the background (first, when there is no value yet). */
  get(): Promise<T>;
  /** Re-reads the store now (the cached value was just refused), at most once a second; the value after. */
  refresh(): Promise<T>;
  /** Whether the next get() will read the store. */
  stale(): boolean;
}

export interface CachedSecret extends Cached<string> {
  /**
   * The values worth trying when the cached one was refused: the newest enabled version and the
   * one before it while enabled (liveValues), re-read now, at most once a second.
   */
  candidates(): Promise<string[]>;
}

export interface CachedOptions<T> {
  /** The value before the first read: the environment variable the function started with. */
  initial?: T;
  ttlMs: number;
  now?: () => number;
}

/** Forced refreshes closer together than this share the last read: a burst of refusals is one read. */
const MIN_REFRESH_INTERVAL_MS = 1000;

/** `load` (a read of secret `secret`'s store), cached as described above. */
export function cachedValue<T>(secret: string, load: () => Promise<T>, opts: CachedOptions<T>): Cached<T> {
  const now = opts.now ?? Date.now;
  let value = opts.initial;
  // The initial value counts as fresh: a cold start reads nothing from the store.
  let readAt = value === undefined ? -Infinity : now();
  let storeReadAt = -Infinity;
  let reading: Promise<T> | undefined;

  async function read(): Promise<T> {
    try {
      value = await load();
    } catch (err) {
      if (value === undefined) throw err;
      // No version in the store (locally, before any rotation) means the environment's value holds.
      if (!(err instanceof SecretNotFoundError)) {
        logger().warn('secret refresh failed; keeping the value in use', { target: secret, error: err });
      }
    } finally {
      readAt = storeReadAt = now();
    }
    return value;
  }

  const readOnce = (): Promise<T> =>
    (reading ??= read().finally(() => {
      reading = undefined;
    }));

  const stale = (): boolean => value === undefined || now() - readAt >= opts.ttlMs;

  return {
    async get() {
      if (value === undefined) return readOnce();
      // read() keeps the value in hand when the store fails, so this never rejects.
      if (stale()) void readOnce();
      return value;
    },
    async refresh() {
      if (reading) return reading;
      if (value !== undefined && now() - storeReadAt < MIN_REFRESH_INTERVAL_MS) return value;
      return readOnce();
    },
    stale,
  };
}

export function cachedSecret(store: SecretStore, secret: string, opts: CachedOptions<string>): CachedSecret {
  const latest = cachedValue(secret, async () => (await store.latest(secret)).value, opts);
  const live = cachedValue(secret, () => liveValues(store, secret), {
    ...opts,
    initial: opts.initial === undefined ? undefined : [opts.initial],
  });
  return { ...latest, candidates: () => live.refresh() };
}

/**
 * The values a credential check accepts: the newest enabled version, and the one before it while
 * it is enabled (a rotation's grace period). Read by number, so reading needs no more than access
 * to the versions (Secret Manager's secretAccessor), not the right to list them.
 */
export async function liveValues(store: SecretStore, secret: string): Promise<string[]> {
  const latest = await store.latest(secret);
  const before = Number(latest.version) - 1;
  if (before < 1) return [latest.value];
  try {
    return [latest.value, (await store.access(secret, String(before))).value];
  } catch (err) {
    if (err instanceof SecretNotFoundError || err instanceof SecretVersionDisabledError) return [latest.value];
    throw err;
  }
}
