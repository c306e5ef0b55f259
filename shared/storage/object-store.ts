import type { Readable } from 'node:stream';
import type { ByteRange } from './byte-range';

/**
 * Where job inputs and results live. The same keys work on both backends (a local directory in
 * the embedded mode, Cloud Storage in GCP), so no caller branches on the mode.
 */
export interface ObjectStore {
  /** Overwrites an existing object in one step: a retried write replaces, never duplicates or tears. */
  put(bucket: string, key: string, fromPath: string, contentType: string): Promise<{ sizeBytes: number }>;
  /** Throws `ObjectNotFoundError` when there is no such object. */
  download(bucket: string, key: string, toPath: string): Promise<void>;
  exists(bucket: string, key: string): Promise<boolean>;
  /** The object's size; throws `ObjectNotFoundError` when there is no such object. */
  stat(bucket: string, key: string): Promise<{ sizeBytes: number }>;
  /**
   * Bytes `start` to `end` (inclusive) of the object, streamed as they are read: a job reads its
   * input this way, never whole. Destroying the stream ends the read.
   */
  readRange(bucket: string, key: string, range: ByteRange): Readable;
  /** Deleting a missing object is not an error, so cleanup can be retried. */
  delete(bucket: string, key: string): Promise<void>;
  /** A URL anyone holding it may GET until it expires; treat it as a secret and never log it. */
  signedReadUrl(bucket: string, key: string, ttlSeconds: number): Promise<string>;
  /**
   * A URL anyone holding it may PUT the object to until it expires, with exactly the headers
   * returned beside it: the content type and the size are bound into the signature, so the
   * holder cannot store anything else. A secret like a read URL.
   */
  signedUploadUrl(bucket: string, key: string, terms: UploadTerms): Promise<SignedUpload>;
}

export interface UploadTerms {
  contentType: string;
  sizeBytes: number;
  ttlSeconds: number;
}

export interface SignedUpload {
  /** Always for the PUT method. */
  url: string;
  /** What the PUT must send, as named here (the two backends bind different headers). */
  headers: Record<string, string>;
  expiresAt: Date;
}

export class ObjectNotFoundError extends Error {
  override readonly name = 'ObjectNotFoundError';
  readonly code = 'object_not_found';

  constructor(bucket: string, key: string) {
    super(`no object ${key} in bucket ${bucket}`);
  }
}

/** Cloud Storage refuses V4 signatures valid for longer than 7 days; hold the local backend to the same. */
export const MAX_SIGNED_URL_TTL_SECONDS = 7 * 24 * 3600;

export function assertTtl(ttlSeconds: number): void {
  if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1 || ttlSeconds > MAX_SIGNED_URL_TTL_SECONDS) {
    throw new RangeError(`ttlSeconds must be an integer from 1 to ${MAX_SIGNED_URL_TTL_SECONDS}`);
  }
}

// A type such as `video/mp4`: no parameters, nothing a header could be split on.
const CONTENT_TYPE = /^[a-z0-9][a-z0-9!#$&^_.+-]*\/[a-z0-9][a-z0-9!#$&^_.+-]*$/;

/** Terms both backends can bind into a signature; anything else is a caller's bug. */
export function assertUploadTerms(terms: UploadTerms): void {
  assertTtl(terms.ttlSeconds);
  if (!CONTENT_TYPE.test(terms.contentType)) {
    throw new RangeError(`contentType must be a lowercase type/subtype, not ${JSON.stringify(terms.contentType)}`);
  }
  if (!Number.isSafeInteger(terms.sizeBytes) || terms.sizeBytes < 0) {
    throw new RangeError('sizeBytes must be a whole number of bytes');
  }
}
