/**
 * The process's secret store and the secrets it reads at run time. The mode picks the store here
 * rather than in platform/: the database pool reads its URL through this module, and platform/
 * depends on the database.
 */
import { resolve } from 'node:path';
import { config } from '../config';
import { cachedSecret, cachedValue, liveValues, type Cached, type CachedSecret } from './cached';
import { localSecretStore } from './local-store';
import { secretManagerStore } from './secret-manager';
import type { SecretStore } from './store';

export { cachedSecret, cachedValue, liveValues, type Cached, type CachedSecret } from './cached';
export { localSecretStore } from './local-store';
export { secretManagerStore, type SecretManagerApi } from './secret-manager';
export * from './store';

let store: SecretStore | undefined;
const readers = new Map<string, { initial: string | undefined; reader: CachedSecret }>();

/** Where the local store keeps its versions: `secrets/` under the data dir. */
export const localSecretsDir = (): string => resolve(config().AIPROD_DATA_DIR, 'secrets');

export function secretStore(): SecretStore {
  const c = config();
  store ??=
    c.AIPROD_MODE === 'gcp'
      ? secretManagerStore({ project: c.GOOGLE_CLOUD_PROJECT })
      : localSecretStore(localSecretsDir());
  return store;
}

/**
 * The process's reader of one secret, made on first use with `initial` (the environment variable
 * the function started with) and the configured TTL; later calls with the same initial value get
 * the same reader.
 */
export function runtimeSecret(secret: string, initial?: string): CachedSecret {
  const known = readers.get(secret);
  if (known && known.initial === initial) return known.reader;
  const reader = cachedSecret(secretStore(), secret, { initial, ttlMs: config().AIPROD_SECRET_TTL_SECONDS * 1000 });
  readers.set(secret, { initial, reader });
  return reader;
}

const accepted = new Map<string, { initial: string; reader: Cached<string[]> }>();

/**
 * The values of a credential a check accepts now (secrets/cached.ts liveValues), starting from
 * `initial` (the environment variable) and re-read once per TTL: a rotated token is accepted
 * without a redeploy, and the one it replaced until its version is disabled.
 */
export function acceptedSecretValues(secret: string, initial: string): Promise<string[]> {
  let known = accepted.get(secret);
  if (!known || known.initial !== initial) {
    const reader = cachedValue(secret, () => liveValues(secretStore(), secret), {
      initial: [initial],
      ttlMs: config().AIPROD_SECRET_TTL_SECONDS * 1000,
    });
    known = { initial, reader };
    accepted.set(secret, known);
  }
  return known.reader.get();
}

/** Forget the store and the readers (tests switch configuration between cases). */
export function resetSecrets(): void {
  store = undefined;
  readers.clear();
  accepted.clear();
}
