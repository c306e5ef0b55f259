/**
 * Version moves shared by the rotations of stored credentials (the database URLs, the metrics
 * token): reading the current version (seeding an empty local store with the configured value, so
 * the value before the rotation is kept and can be restored), making the previous version the
 * newest enabled one again (a rollback: Secret Manager's `latest`, which new function instances
 * start with, must always name a working value), and disabling the previous version.
 */
import { randomInt } from 'node:crypto';
import { SecretNotFoundError, SecretVersionDisabledError, type SecretStore, type SecretValue } from '../store';

const ALPHANUMERIC = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** Letters and digits only: the value goes verbatim into a URL or an Authorization header. */
export function randomCredential(length: number): string {
  let out = '';
  for (let i = 0; i < length; i++) out += ALPHANUMERIC[randomInt(ALPHANUMERIC.length)];
  return out;
}

/** The secret's current version; an empty store gets `configured` as its first version. */
export async function currentOrSeed(
  store: SecretStore,
  secret: string,
  configured: string | undefined,
): Promise<SecretValue> {
  try {
    return await store.latest(secret);
  } catch (err) {
    if (!(err instanceof SecretNotFoundError) || configured === undefined) throw err;
    const seeded = await store.addVersion(secret, configured);
    return { version: seeded.version, value: configured };
  }
}

/**
 * After this, the newest enabled version of `secret` holds the value of version `previous`:
 * every enabled version added after it with another value is disabled, and when the newest
 * version is not `previous` itself (Secret Manager's `latest` names the newest, enabled or not),
 * a copy of it is added. Running it again changes nothing.
 */
export async function restorePrevious(store: SecretStore, secret: string, previous: string): Promise<void> {
  const before = (await store.access(secret, previous)).value;
  for (const v of await store.listVersions(secret)) {
    if (Number(v.version) <= Number(previous) || v.state !== 'enabled') continue;
    if ((await store.access(secret, v.version)).value !== before) await store.disableVersion(secret, v.version);
  }
  const [newest] = await store.listVersions(secret);
  if (!newest || newest.version === previous) return;
  const restored = newest.state === 'enabled' && (await store.access(secret, newest.version)).value === before;
  if (!restored) await store.addVersion(secret, before);
}

/** Disables the versions a completed rotation replaced (one an operator disabled first included). */
export async function disablePrevious(store: SecretStore, previous: Record<string, string>): Promise<void> {
  for (const [secret, version] of Object.entries(previous)) {
    await store.disableVersion(secret, version).catch((err: unknown) => {
      if (!(err instanceof SecretVersionDisabledError)) throw err;
    });
  }
}
