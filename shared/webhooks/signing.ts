/**
 * Standard Webhooks signatures (https://www.standardwebhooks.com): over `<webhook-id>.<webhook-timestamp>.<body>`,
 * `v1,<base64 HMAC-SHA256>` with a `whsec_` secret, or `v1a,<base64 ed25519>` with a private key
 * whose public half partners get as `whpk_...`. During a rotation a delivery carries one
 * signature per live secret, space-separated, so a receiver with either secret verifies.
 */
import {
  createHmac,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  randomBytes,
  sign,
  type KeyObject,
} from 'node:crypto';

export type SigningScheme = 'hmac' | 'ed25519';

/** What is kept (encrypted) per webhook secret; `secret` is the raw key material. */
export interface SigningKey {
  scheme: SigningScheme;
  /** hmac: the raw HMAC key. ed25519: the private key, PKCS#8 DER. */
  secret: Buffer;
}

const HMAC_PREFIX = 'whsec_';
const PUBLIC_PREFIX = 'whpk_';

/** A new key, and what the partner is shown once: `whsec_...` or the public key `whpk_...`. */
export function newSigningKey(scheme: SigningScheme): { key: SigningKey; shown: string } {
  if (scheme === 'hmac') {
    const secret = randomBytes(32);
    return { key: { scheme, secret }, shown: `${HMAC_PREFIX}${secret.toString('base64')}` };
  }
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    key: { scheme, secret: privateKey.export({ format: 'der', type: 'pkcs8' }) },
    shown: publicKeyText(publicKey),
  };
}

/** The raw 32-byte ed25519 public key as `whpk_<base64>`: what node:crypto and most libraries take. */
function publicKeyText(publicKey: KeyObject): string {
  const der = publicKey.export({ format: 'der', type: 'spki' });
  return `${PUBLIC_PREFIX}${der.subarray(der.length - 32).toString('base64')}`;
}

/** The partner-facing identity of a key: its `whsec_` secret (hmac) or `whpk_` public key (ed25519). */
export function shownKey(key: SigningKey): string {
  if (key.scheme === 'hmac') return `${HMAC_PREFIX}${key.secret.toString('base64')}`;
  return publicKeyText(createPublicKey(createPrivateKey({ key: key.secret, format: 'der', type: 'pkcs8' })));
}

export function signatureOf(key: SigningKey, id: string, timestamp: number, body: string): string {
  const content = Buffer.from(`${id}.${timestamp}.${body}`);
  if (key.scheme === 'hmac') return `v1,${createHmac('sha256', key.secret).update(content).digest('base64')}`;
  const privateKey = createPrivateKey({ key: key.secret, format: 'der', type: 'pkcs8' });
  return `v1a,${sign(null, content, privateKey).toString('base64')}`;
}

/** The three Standard Webhooks headers of one attempt, signed with every live key. */
export function webhookHeaders(
  keys: SigningKey[],
  id: string,
  timestamp: number,
  body: string,
): Record<'webhook-id' | 'webhook-timestamp' | 'webhook-signature', string> {
  return {
    'webhook-id': id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': keys.map((k) => signatureOf(k, id, timestamp, body)).join(' '),
  };
}
