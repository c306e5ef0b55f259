/**
 * The one place the mode (local or gcp) picks adapters; business code only sees the interfaces.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { config, ConfigError } from '../config';
import { db } from '../db';
import { localBusTransport } from '../events/local-transport';
import type { Transport } from '../events/transport';
import { localKeyEncryptionKey, withOlderKeys, type KeyEncryptionKey } from '../crypto/envelope';
import { cloudKmsKeyEncryptionKey } from '../crypto/kms';
import { newKekValue, storeKeyEncryptionKey, type StoreKek } from '../crypto/local-kek';
import { resetSecrets, secretStore } from '../secrets';
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

/** Pub/Sub with its breaker, loaded with the first publish: most requests never publish. */
function cloudTransport(): Transport {
  const { pubSubTransport } = require('../events/pubsub-transport') as typeof import('../events/pubsub-transport');
  return pubSubTransport();
}

export function transport(): Transport {
  bus ??= config().AIPROD_MODE === 'gcp' ? cloudTransport() : localBusTransport(db);
  return bus;
}

let kek: KeyEncryptionKey | undefined;
let localKek: StoreKek | undefined;

/** The version label of the key held in KEY_ENCRYPTION_KEY, the key-encryption key before Cloud KMS. */
export const LEGACY_KEK_VERSION = 'v1';

/** The local secret store's secret whose versions are the local key-encryption key. */
export const LOCAL_KEK_SECRET = 'key-encryption-key';

/**
 * The key-encryption key of sealed columns. On Google Cloud: the KMS key AIPROD_KMS_KEY, and the
 * key in KEY_ENCRYPTION_KEY (when the function reads it) to open rows sealed before KMS. Locally:
 * the versions of the local store's `key-encryption-key`.
 */
export function keyEncryptionKey(): KeyEncryptionKey {
  kek ??= config().AIPROD_MODE === 'gcp' ? cloudKek() : localKeyEncryptionKeyVersions()!;
  return kek;
}

/**
 * The key-encryption key as a rotation sees it, where AIPROD makes its versions itself (locally);
 * undefined on Google Cloud, where KMS rotates the key on the schedule Terraform sets.
 */
export function localKeyEncryptionKeyVersions(): StoreKek | undefined {
  const c = config();
  if (c.AIPROD_MODE === 'gcp') return undefined;
  localKek ??= storeKeyEncryptionKey({
    store: secretStore(),
    secret: LOCAL_KEK_SECRET,
    ttlMs: c.AIPROD_SECRET_TTL_SECONDS * 1000,
    // The first version: the configured key, else the one earlier releases generated in the data
    // dir, so values sealed before versions existed (v1) still open.
    seed: () => c.KEY_ENCRYPTION_KEY ?? dataDirSecret('key-encryption-key', newKekValue),
  });
  return localKek;
}

function cloudKek(): KeyEncryptionKey {
  const c = config();
  if (!c.AIPROD_KMS_KEY) throw new ConfigError('invalid configuration: AIPROD_KMS_KEY is required by this function');
  const kms = cloudKmsKeyEncryptionKey({ keyName: c.AIPROD_KMS_KEY });
  if (!c.KEY_ENCRYPTION_KEY) return kms;
  const legacy = localKeyEncryptionKey(
    { [LEGACY_KEK_VERSION]: Buffer.from(c.KEY_ENCRYPTION_KEY, 'base64') },
    LEGACY_KEK_VERSION,
  );
  return withOlderKeys(kms, legacy);
}

/** Forget the adapters (tests switch configuration between cases). */
export function resetPlatform(): void {
  store = undefined;
  bus = undefined;
  kek = undefined;
  localKek = undefined;
  resetSecrets();
}
