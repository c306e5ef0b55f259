import { createHmac, timingSafeEqual } from 'node:crypto';
import { assertObjectName } from './keys';

/** Where the local backend serves objects; a signed URL is this prefix on the public base URL. */
export const STORAGE_PATH_PREFIX = '/_storage/';

export type SignedPathCheck =
  { ok: true; bucket: string; key: string } | { ok: false; code: 'signature_invalid' | 'url_expired' };

function signature(signingKey: Buffer, bucket: string, key: string, expires: string): Buffer {
  return createHmac('sha256', signingKey).update(`${bucket}\n${key}\n${expires}`).digest();
}

/** Each segment encoded on its own so the key's slashes stay path separators. */
function encodeKey(key: string): string {
  return key.split('/').map(encodeURIComponent).join('/');
}

/** `/_storage/<bucket>/<key>?expires=<unix seconds>&signature=<hex>`: the local stand-in for a V4 signed URL. */
export function signPath(signingKey: Buffer, bucket: string, key: string, expiresUnix: number): string {
  assertObjectName(bucket, key);
  const expires = String(expiresUnix);
  const sig = signature(signingKey, bucket, key, expires).toString('hex');
  return `${STORAGE_PATH_PREFIX}${bucket}/${encodeKey(key)}?expires=${expires}&signature=${sig}`;
}

function decodeSegments(rawPath: string): string[] | null {
  try {
    return rawPath.split('/').map(decodeURIComponent);
  } catch {
    return null;
  }
}

/**
 * Checks a request target exactly as the client sent it (no URL normalisation, which would fold
 * `..` segments before we could refuse them). The signature is checked before the expiry, so
 * `url_expired` is only ever said about a URL we really issued.
 */
export function checkSignedPath(signingKey: Buffer, pathAndQuery: string, nowMs: number): SignedPathCheck {
  const invalid: SignedPathCheck = { ok: false, code: 'signature_invalid' };
  if (!pathAndQuery.startsWith(STORAGE_PATH_PREFIX)) return invalid;
  const queryStart = pathAndQuery.indexOf('?');
  if (queryStart < 0) return invalid;
  const segments = decodeSegments(pathAndQuery.slice(STORAGE_PATH_PREFIX.length, queryStart));
  const [bucket, ...keySegments] = segments ?? [];
  if (bucket === undefined) return invalid;
  const key = keySegments.join('/');
  try {
    assertObjectName(bucket, key);
  } catch {
    return invalid;
  }

  const query = new URLSearchParams(pathAndQuery.slice(queryStart + 1));
  const expires = query.get('expires') ?? '';
  const given = query.get('signature') ?? '';
  if (!/^\d{1,12}$/.test(expires) || !/^[0-9a-f]{64}$/i.test(given)) return invalid;
  if (!timingSafeEqual(Buffer.from(given, 'hex'), signature(signingKey, bucket, key, expires))) return invalid;
  if (Number(expires) * 1000 < nowMs) return { ok: false, code: 'url_expired' };
  return { ok: true, bucket, key };
}
