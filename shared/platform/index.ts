/**
 * The one place the mode (local or gcp) picks adapters; business code only sees the interfaces.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { config, ConfigError } from '../config';
import { db } from '../db';
import { localBusTransport } from '../events/local-transport';
import { pubSubTransport } from '../events/pubsub-transport';
import type { Transport } from '../events/transport';
import { localKeyEncryptionKey, type KeyEncryptionKey } from '../crypto/envelope';
import { gcsObjectStore, localObjectStore, ObjectStore } from '../storage';

let store: ObjectStore | undefined;
let bus: Transport | undefined;

/** A secret kept in a file under the data dir, made once by `make` (the first process wins). */
function dataDirSecret(name: string, make: () => string): string {
  const dir = resolve(config().AIPROD_DATA_DIR);
  const file = join(dir, name);
  if (!existsSync(file)) {
    mkdirSync(dir, { recursive: true });
    try {
      writeFileSync(file, make(), { mode: 0o600, flag: 'wx' });
    } catch (err) {
      // Another process of the stack created it first; use theirs.
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  return readFileSync(file, 'utf8').trim();
}

/** The local signing key: from the environment, else generated once under the data dir. */
export function localSigningKey(): Buffer {
  const fromEnv = config().AIPROD_LOCAL_SIGNING_KEY;
  if (fromEnv) return Buffer.from(fromEnv);
  return Buffer.from(dataDirSecret('local-signing-key', () => randomBytes(32).toString('hex')));
}

export function localStore(): ReturnType<typeof localObjectStore> {
  return localObjectStore({
    rootDir: resolve(config().AIPROD_DATA_DIR, 'storage'),
    publicBaseUrl: config().publicUrl,
    signingKey: localSigningKey(),
  });
}

export function objectStore(): ObjectStore {
  store ??= config().AIPROD_MODE === 'gcp' ? gcsObjectStore({}) : localStore();
  return store;
}

export function transport(): Transport {
  bus ??= config().AIPROD_MODE === 'gcp' ? pubSubTransport() : localBusTransport(db);
  return bus;
}

let kek: KeyEncryptionKey | undefined;

/** The version label of the key-encryption key held in configuration (KEY_ENCRYPTION_KEY). */
export const CONFIGURED_KEK_VERSION = 'v1';

/**
 * The key-encryption key of sensitive columns: KEY_ENCRYPTION_KEY (the `key-encryption-key`
 * secret in Google Cloud), else, locally, one generated once under the data dir.
 */
export function keyEncryptionKey(): KeyEncryptionKey {
  kek ??= localKeyEncryptionKey({ [CONFIGURED_KEK_VERSION]: configuredKek() }, CONFIGURED_KEK_VERSION);
  return kek;
}

function configuredKek(): Buffer {
  const c = config();
  if (c.KEY_ENCRYPTION_KEY) return Buffer.from(c.KEY_ENCRYPTION_KEY, 'base64');
  if (c.AIPROD_MODE === 'gcp')
    throw new ConfigError('invalid configuration: KEY_ENCRYPTION_KEY is required by this function');
  return Buffer.from(
    dataDirSecret('key-encryption-key', () => randomBytes(32).toString('base64')),
    'base64',
  );
}

/** Forget the adapters (tests switch configuration between cases). */
export function resetPlatform(): void {
  store = undefined;
  bus = undefined;
  kek = undefined;
}
