/**
 * Envelope encryption for sensitive columns: each value is sealed with its own random data key
 * (AES-256-GCM), and the data key is stored wrapped by a key-encryption key (KEK). The KEK sits
 * behind one interface (Cloud KMS on Google Cloud, crypto/kms.ts; locally AES-256-GCM keys kept in
 * the local secret store, crypto/local-kek.ts), so a row records which KEK version wrapped its
 * data key, old rows still open after the KEK rotates, and `npm run reencrypt` moves them to the
 * current version by re-wrapping their data key alone.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

export interface WrappedKey {
  wrapped: Buffer;
  /** The KEK version that wrapped it, as the KEK names it; stored beside the sealed value. */
  version: string;
}

export interface KeyEncryptionKey {
  /** Wraps with the current version (which may change under a running process: KMS rotates). */
  wrap(dataKey: Buffer): Promise<WrappedKey>;
  unwrap(wrapped: Buffer, version: string): Promise<Buffer>;
  /** The version wrap uses now; a sealed value under any other is due for re-encryption. */
  currentVersion(): Promise<string>;
}

/** A sealed value as a JSON column holds it; every field base64 but the version. */
export interface Sealed {
  ciphertext: string;
  data_key: string;
  key_version: string;
}

export class KeyVersionUnknownError extends Error {}

const IV_BYTES = 12;
const TAG_BYTES = 16;

/** AES-256-GCM: iv | tag | ciphertext, authenticated with `aad` (what the value belongs to). */
function encrypt(key: Buffer, plaintext: Buffer, aad: Buffer): Buffer {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv).setAAD(aad);
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), body]);
}

function decrypt(key: Buffer, sealed: Buffer, aad: Buffer): Buffer {
  const iv = sealed.subarray(0, IV_BYTES);
  const tag = sealed.subarray(IV_BYTES, IV_BYTES + TAG_BYTES);
  const decipher = createDecipheriv('aes-256-gcm', key, iv).setAAD(aad).setAuthTag(tag);
  return Buffer.concat([decipher.update(sealed.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]);
}

/**
 * Seals `plaintext` for the row it belongs to: `context` (e.g. "webhooks:<id>") is bound into the
 * ciphertext, so a sealed value copied onto another row does not open there.
 */
export async function seal(kek: KeyEncryptionKey, plaintext: Buffer, context: string): Promise<Sealed> {
  const dataKey = randomBytes(32);
  try {
    const { wrapped, version } = await kek.wrap(dataKey);
    return {
      ciphertext: encrypt(dataKey, plaintext, Buffer.from(context)).toString('base64'),
      data_key: wrapped.toString('base64'),
      key_version: version,
    };
  } finally {
    dataKey.fill(0);
  }
}

export async function open(kek: KeyEncryptionKey, sealed: Sealed, context: string): Promise<Buffer> {
  const dataKey = await kek.unwrap(Buffer.from(sealed.data_key, 'base64'), sealed.key_version);
  try {
    return decrypt(dataKey, Buffer.from(sealed.ciphertext, 'base64'), Buffer.from(context));
  } finally {
    dataKey.fill(0);
  }
}

/**
 * The same sealed value with its data key wrapped by the KEK's current version: the ciphertext is
 * untouched, so this needs no knowledge of the row it belongs to.
 */
export async function rewrap(kek: KeyEncryptionKey, sealed: Sealed): Promise<Sealed> {
  const dataKey = await kek.unwrap(Buffer.from(sealed.data_key, 'base64'), sealed.key_version);
  try {
    const { wrapped, version } = await kek.wrap(dataKey);
    return { ciphertext: sealed.ciphertext, data_key: wrapped.toString('base64'), key_version: version };
  } finally {
    dataKey.fill(0);
  }
}

/**
 * `current` for everything, and `older` to open values sealed under versions `current` does not
 * know (KeyVersionUnknownError): on Google Cloud, rows sealed by the configured key before KMS.
 */
export function withOlderKeys(current: KeyEncryptionKey, older: KeyEncryptionKey): KeyEncryptionKey {
  return {
    wrap: (dataKey) => current.wrap(dataKey),
    currentVersion: () => current.currentVersion(),
    async unwrap(wrapped, version) {
      try {
        return await current.unwrap(wrapped, version);
      } catch (err) {
        if (!(err instanceof KeyVersionUnknownError)) throw err;
        return older.unwrap(wrapped, version);
      }
    },
  };
}

/**
 * A KEK held in memory: AES-256-GCM key wrapping, versions by name. `keys` maps every version that
 * may still be needed to open old rows; `current` names the one new rows use.
 */
export function localKeyEncryptionKey(keys: Record<string, Buffer>, current: string): KeyEncryptionKey {
  for (const [version, key] of Object.entries(keys)) {
    if (key.length !== 32) throw new RangeError(`key-encryption key ${version} must be 32 bytes`);
  }
  const keyOf = (version: string): Buffer => {
    const key = keys[version];
    if (!key) throw new KeyVersionUnknownError(`no key-encryption key of version ${version}`);
    return key;
  };
  keyOf(current);
  return {
    wrap: async (dataKey) => ({ wrapped: wrapKey(keyOf(current), dataKey, current), version: current }),
    unwrap: async (wrapped, version) => unwrapKey(keyOf(version), wrapped, version),
    currentVersion: async () => current,
  };
}

/** AES-256-GCM key wrapping, the version bound in, so a wrapped key does not open under another version's key. */
export const wrapKey = (key: Buffer, dataKey: Buffer, version: string): Buffer =>
  encrypt(key, dataKey, Buffer.from(`kek:${version}`));

export const unwrapKey = (key: Buffer, wrapped: Buffer, version: string): Buffer =>
  decrypt(key, wrapped, Buffer.from(`kek:${version}`));
