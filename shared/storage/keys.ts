/**
 * Bucket and key rules shared by both backends. The local backend maps keys onto file paths, so
 * a key must never be able to climb out of its bucket; Cloud Storage is held to the same rules so
 * a key that works in one mode works in the other.
 */

export class InvalidObjectNameError extends Error {
  override readonly name = 'InvalidObjectNameError';
  readonly code = 'invalid_object_name';
}

// Cloud Storage's own bucket naming rules, minus the domain-named buckets nobody here needs.
const BUCKET_NAME = /^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$/;
const MAX_KEY_BYTES = 1024;
// NUL is the path-truncation trick; CR/LF are refused by Cloud Storage itself.
const FORBIDDEN_KEY_CHARS = /[\\\0\r\n]/;

export function assertBucketName(bucket: string): void {
  if (!BUCKET_NAME.test(bucket) || bucket.includes('..')) {
    throw new InvalidObjectNameError(`invalid bucket name ${JSON.stringify(bucket)}`);
  }
}

/** A relative, slash-separated key without empty, `.` or `..` segments. */
export function assertObjectKey(key: string): void {
  const invalid = (why: string): InvalidObjectNameError =>
    new InvalidObjectNameError(`invalid object key ${JSON.stringify(key)}: ${why}`);
  if (key.length === 0) throw invalid('empty');
  if (Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES) throw invalid(`longer than ${MAX_KEY_BYTES} bytes`);
  if (FORBIDDEN_KEY_CHARS.test(key)) throw invalid('backslash, NUL, CR or LF');
  if (key.startsWith('/')) throw invalid('absolute');
  for (const segment of key.split('/')) {
    if (segment === '' || segment === '.' || segment === '..') throw invalid('empty, "." or ".." segment');
  }
}

export function assertObjectName(bucket: string, key: string): void {
  assertBucketName(bucket);
  assertObjectKey(key);
}
