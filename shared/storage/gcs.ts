import { stat } from 'node:fs/promises';
import type { File, Storage } from '@google-cloud/storage';
import { assertObjectName } from './keys';
import { assertTtl, assertUploadTerms, ObjectNotFoundError, type ObjectStore } from './object-store';

/**
 * Above this size an upload goes resumable: one more round trip to open the session, but a
 * dropped connection resumes instead of resending the whole file.
 */
export const RESUMABLE_THRESHOLD_BYTES = 8 * 1024 * 1024;

const isNotFound = (err: unknown): boolean => (err as { code?: unknown }).code === 404;

export function gcsObjectStore(opts: { storage?: Storage }): ObjectStore {
  // Loaded on first use, so a function that never touches a bucket does not pay for it at cold start.
  const storage =
    opts.storage ?? new (require('@google-cloud/storage') as typeof import('@google-cloud/storage')).Storage();

  function file(bucket: string, key: string): File {
    assertObjectName(bucket, key);
    return storage.bucket(bucket).file(key);
  }

  return {
    async put(bucket, key, fromPath, contentType) {
      assertObjectName(bucket, key);
      const { size } = await stat(fromPath);
      await storage.bucket(bucket).upload(fromPath, {
        destination: key,
        contentType,
        resumable: size > RESUMABLE_THRESHOLD_BYTES,
      });
      return { sizeBytes: size };
    },

    async download(bucket, key, toPath) {
      try {
        await file(bucket, key).download({ destination: toPath });
      } catch (err) {
        if (isNotFound(err)) throw new ObjectNotFoundError(bucket, key);
        throw err;
      }
    },

    async stat(bucket, key) {
      try {
        const [metadata] = await file(bucket, key).getMetadata();
        return { sizeBytes: Number(metadata.size) };
      } catch (err) {
        if (isNotFound(err)) throw new ObjectNotFoundError(bucket, key);
        throw err;
      }
    },

    readRange(bucket, key, { start, end }) {
      // No checksum of a part: Cloud Storage's hashes are of the whole object.
      return file(bucket, key).createReadStream({ start, end, validation: false });
    },

    async exists(bucket, key) {
      const [found] = await file(bucket, key).exists();
      return found;
    },

    async delete(bucket, key) {
      await file(bucket, key).delete({ ignoreNotFound: true });
    },

    async signedReadUrl(bucket, key, ttlSeconds) {
      assertTtl(ttlSeconds);
      const [url] = await file(bucket, key).getSignedUrl({
        version: 'v4',
        action: 'read',
        expires: Date.now() + ttlSeconds * 1000,
      });
      return url;
    },

    async signedUploadUrl(bucket, key, terms) {
      assertUploadTerms(terms);
      const expires = Date.now() + terms.ttlSeconds * 1000;
      // Cloud Storage refuses a body outside this range with 400, and with 412 a PUT onto an object
      // that exists already (generation 0: none yet), so the URL writes its object once, as the
      // local store's does, and what was inspected after that write stays what the object holds.
      // Being signed, the headers must be sent as they are: the holder can neither drop nor change them.
      const bound = {
        'x-goog-content-length-range': `${terms.sizeBytes},${terms.sizeBytes}`,
        'x-goog-if-generation-match': '0',
      };
      const [url] = await file(bucket, key).getSignedUrl({
        version: 'v4',
        action: 'write',
        expires,
        contentType: terms.contentType,
        extensionHeaders: bound,
      });
      return {
        url,
        headers: { 'Content-Type': terms.contentType, 'Content-Length': String(terms.sizeBytes), ...bound },
        expiresAt: new Date(expires),
      };
    },
  };
}
