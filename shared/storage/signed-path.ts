import { createHmac, timingSafeEqual } from 'node:crypto';
import { assertObjectName } from './keys';

/** Where the local backend serves objects; a signed URL is this prefix on the public base URL. */
export const STORAGE_PATH_PREFIX = '/_storage/';

type Refusal = { ok: false; code: 'signature_invalid' | 'url_expired' };

export type SignedPathCheck = { ok: true; bucket: string; key: string } | Refusal;

export type SignedUploadCheck =
  { ok: true; bucket: string; key: string; contentType: string; sizeBytes: number } | Refusal;

export interface SignedUploadTerms {
  contentType: string;
  sizeBytes: number;
}

const hmac = (signingKey: Buffer, text: string): Buffer => createHmac('sha256', signingKey).update(text).digest();

function signature(signingKey: Buffer, bucket: string, key: string, expires: string): Buffer {
  return hmac(signingKey, `${bucket}\n${key}\n${expires}`);
}

/**
 * The method comes first: a read signature's first line is a bucket name, which is never
 * uppercase, so neither kind of URL can ever pass for the other.
 */
function uploadSignature(
  signingKey: Buffer,
  bucket: string,
  key: string,
  expires: string,
  contentType: string,
  sizeBytes: string,
): Buffer {
  return hmac(signingKey, `PUT\n${bucket}\n${key}\n${expires}\n${contentType}\n${sizeBytes}`);
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

/**
 * `/_storage/<bucket>/<key>?expires=&content_type=&content_length=&signature=`: the local stand-in
 * for a V4 signed PUT, the declared type and size signed with the rest, so the handler can say
 * which of them a request got wrong.
 */
export function signUploadPath(
  signingKey: Buffer,
  bucket: string,
  key: string,
  terms: SignedUploadTerms,
  expiresUnix: number,
): string {
  assertObjectName(bucket, key);
  const expires = String(expiresUnix);
  const size = String(terms.sizeBytes);
  const sig = uploadSignature(signingKey, bucket, key, expires, terms.contentType, size).toString('hex');
  const query = new URLSearchParams({ expires, content_type: terms.contentType, content_length: size, signature: sig });
  return `${STORAGE_PATH_PREFIX}${bucket}/${encodeKey(key)}?${query}`;
}

function decodeSegments(rawPath: string): string[] | null {
  try {
    return rawPath.split('/').map(decodeURIComponent);
  } catch {
    return null;
  }
}

const INVALID: Refusal = { ok: false, code: 'signature_invalid' };

/**
 * The bucket, key and query of a request target exactly as the client sent it (no URL
 * normalisation, which would fold `..` segments before we could refuse them); null when the
 * target cannot name an object.
 */
function parseTarget(pathAndQuery: string): { bucket: string; key: string; query: URLSearchParams } | null {
  if (!pathAndQuery.startsWith(STORAGE_PATH_PREFIX)) return null;
  const queryStart = pathAndQuery.indexOf('?');
  if (queryStart < 0) return null;
  const segments = decodeSegments(pathAndQuery.slice(STORAGE_PATH_PREFIX.length, queryStart));
  const [bucket, ...keySegments] = segments ?? [];
  if (bucket === undefined) return null;
  const key = keySegments.join('/');
  try {
    assertObjectName(bucket, key);
  } catch {
    return null;
  }
  return { bucket, key, query: new URLSearchParams(pathAndQuery.slice(queryStart + 1)) };
}

/**
 * The signature is checked before the expiry, so `url_expired` is only ever said about a URL we
 * really issued.
 */
function checkSignature(query: URLSearchParams, nowMs: number, expected: (expires: string) => Buffer): Refusal | null {
  const expires = query.get('expires') ?? '';
  const given = query.get('signature') ?? '';
  if (!/^\d{1,12}$/.test(expires) || !/^[0-9a-f]{64}$/i.test(given)) return INVALID;
  if (!timingSafeEqual(Buffer.from(given, 'hex'), expected(expires))) return INVALID;
  if (Number(expires) * 1000 < nowMs) return { ok: false, code: 'url_expired' };
  return null;
}

/** Checks a signed read target (`signPath`). */
export function checkSignedPath(signingKey: Buffer, pathAndQuery: string, nowMs: number): SignedPathCheck {
  const target = parseTarget(pathAndQuery);
  if (!target) return INVALID;
  const { bucket, key, query } = target;
  const refusal = checkSignature(query, nowMs, (expires) => signature(signingKey, bucket, key, expires));
  return refusal ?? { ok: true, bucket, key };
}

/** Checks a signed upload target (`signUploadPath`) and says what it allows to be stored. */
export function checkSignedUploadPath(signingKey: Buffer, pathAndQuery: string, nowMs: number): SignedUploadCheck {
  const target = parseTarget(pathAndQuery);
  if (!target) return INVALID;
  const { bucket, key, query } = target;
  const contentType = query.get('content_type') ?? '';
  const size = query.get('content_length') ?? '';
  if (contentType === '' || !/^\d{1,16}$/.test(size)) return INVALID;
  const refusal = checkSignature(query, nowMs, (expires) =>
    uploadSignature(signingKey, bucket, key, expires, contentType, size),
  );
  return refusal ?? { ok: true, bucket, key, contentType, sizeBytes: Number(size) };
}
