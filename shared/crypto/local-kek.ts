/**
 * The local key-encryption key: AES-256-GCM keys kept as the versions of one secret of the local
 * secret store (`key-encryption-key`), version n named `v<n>`, the newest enabled one current. A
 * rotation adds a version (secrets/rotation); every process sees it within the TTL, and at once
 * when it meets a value sealed under a version it does not know yet. Old versions stay and keep
 * opening the rows sealed with them until `npm run reencrypt` has moved those rows.
 */
import { randomBytes } from 'node:crypto';
import type { SecretStore } from '../secrets/store';
import { KeyVersionUnknownError, unwrapKey, wrapKey, type KeyEncryptionKey } from './envelope';

export interface StoreKekOptions {
  store: SecretStore;
  secret: string;
  ttlMs: number;
  /** The first version's key, base64 of 32 bytes, when the store has none yet. */
  seed: () => string;
  now?: () => number;
}

export interface StoreKek extends KeyEncryptionKey {
  /** Adds a new random version, current from now on in this process; its name. */
  addVersion(): Promise<string>;
  /** When the current version was made. */
  currentSince(): Promise<Date>;
}

interface Keyring {
  keys: Map<string, Buffer>;
  current: string;
  currentSince: Date;
  loadedAt: number;
}

const label = (version: string): string => `v${version}`;

/** A new KEK version's value: 32 random bytes, base64. */
export const newKekValue = (): string => randomBytes(32).toString('base64');

export function storeKeyEncryptionKey(opts: StoreKekOptions): StoreKek {
  const now = opts.now ?? Date.now;
  let ring: Keyring | undefined;
  let loading: Promise<Keyring> | undefined;

  async function load(): Promise<Keyring> {
    let versions = (await opts.store.listVersions(opts.secret)).filter((v) => v.state === 'enabled');
    if (versions.length === 0) {
      await opts.store.addVersion(opts.secret, opts.seed());
      versions = (await opts.store.listVersions(opts.secret)).filter((v) => v.state === 'enabled');
    }
    const keys = new Map<string, Buffer>();
    for (const v of versions) {
      const key = Buffer.from((await opts.store.access(opts.secret, v.version)).value, 'base64');
      if (key.length !== 32) throw new RangeError(`key-encryption key ${label(v.version)} must be 32 bytes`);
      keys.set(label(v.version), key);
    }
    const newest = versions[0]!;
    return { keys, current: label(newest.version), currentSince: newest.createdAt, loadedAt: now() };
  }

  const reload = (): Promise<Keyring> =>
    (loading ??= load()
      .then((loaded) => (ring = loaded))
      .finally(() => {
        loading = undefined;
      }));

  const keyring = async (): Promise<Keyring> => (ring && now() - ring.loadedAt < opts.ttlMs ? ring : reload());

  return {
    async wrap(dataKey) {
      const { keys, current } = await keyring();
      return { wrapped: wrapKey(keys.get(current)!, dataKey, current), version: current };
    },
    async unwrap(wrapped, version) {
      let key = (await keyring()).keys.get(version);
      // Sealed under a version added since this process last looked.
      key ??= (await reload()).keys.get(version);
      if (!key) throw new KeyVersionUnknownError(`no key-encryption key of version ${version}`);
      return unwrapKey(key, wrapped, version);
    },
    async currentVersion() {
      return (await reload()).current;
    },
    async currentSince() {
      return (await reload()).currentSince;
    },
    async addVersion() {
      const added = await opts.store.addVersion(opts.secret, newKekValue());
      await reload();
      return label(added.version);
    },
  };
}
