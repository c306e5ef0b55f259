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
  /** Deleting a missing object is not an error, so cleanup can be retried. */
  delete(bucket: string, key: string): Promise<void>;
  /** A URL anyone holding it may GET until it expires; treat it as a secret and never log it. */
  signedReadUrl(bucket: string, key: string, ttlSeconds: number): Promise<string>;
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
