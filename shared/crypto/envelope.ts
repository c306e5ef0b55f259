/**
 * Envelope encryption for sensitive columns: each value is sealed with its own random data key
 * (AES-256-GCM), and the data key is stored wrapped by a key-encryption key (KEK). The KEK sits
 * behind one interface: a local AES-256-GCM key now, Cloud KMS later, so a row records which KEK
 * version wrapped its data key and old rows still open after the KEK rotates.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

export interface KeyEncryptionKey {
  /** The version new data keys are wrapped with; stored beside every sealed value. */
  readonly version: string;
  wrap(dataKey: Buffer): Promise<Buffer>;
  unwrap(wrapped: Buffer, version: string): Promise<Buffer>;
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
    return {
      ciphertext: encrypt(dataKey, plaintext, Buffer.from(context)).toString('base64'),
      data_key: (await kek.wrap(dataKey)).toString('base64'),
      key_version: kek.version,
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
  const aad = (version: string) => Buffer.from(`kek:${version}`);
  return {
    version: current,
    wrap: async (dataKey) => encrypt(keyOf(current), dataKey, aad(current)),
    unwrap: async (wrapped, version) => decrypt(keyOf(version), wrapped, aad(version)),
  };
}
