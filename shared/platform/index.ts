/**
 * The one place the mode (local or gcp) picks adapters; business code only sees the interfaces.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { config } from '../config';
import { db } from '../db';
import { localBusTransport } from '../events/local-transport';
import { pubSubTransport } from '../events/pubsub-transport';
import type { Transport } from '../events/transport';
import { gcsObjectStore, localObjectStore, ObjectStore } from '../storage';

let store: ObjectStore | undefined;
let bus: Transport | undefined;

/** The local signing key: from the environment, else generated once under the data dir. */
export function localSigningKey(): Buffer {
  const fromEnv = config().AIPROD_LOCAL_SIGNING_KEY;
  if (fromEnv) return Buffer.from(fromEnv);
  const dir = resolve(config().AIPROD_DATA_DIR);
  const file = join(dir, 'local-signing-key');
  if (!existsSync(file)) {
    mkdirSync(dir, { recursive: true });
    try {
      writeFileSync(file, randomBytes(32).toString('hex'), { mode: 0o600, flag: 'wx' });
    } catch (err) {
      // Another process of the stack created it first; use theirs.
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  return Buffer.from(readFileSync(file, 'utf8').trim());
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

/** Forget the adapters (tests switch configuration between cases). */
export function resetPlatform(): void {
  store = undefined;
  bus = undefined;
}
