import { createHash, randomUUID } from 'node:crypto';
import { copyFile, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { assertObjectName } from './keys';
import { assertTtl, ObjectNotFoundError, type ObjectStore } from './object-store';
import { checkSignedPath, signPath, type SignedPathCheck } from './signed-path';

export interface LocalObjectStoreOptions {
  rootDir: string;
  /** Origin (and optional path prefix) the local storage handler is reachable at. */
  publicBaseUrl: string;
  signingKey: Buffer;
}

export interface LocalObjectStore extends ObjectStore {
  /** The bucket and key a signed request target grants, or null when it is forged, altered or expired. */
  verify(pathAndQuery: string): { bucket: string; key: string } | null;
  /** Like `verify`, but says why a request is refused (the handler reports it). */
  authorize(pathAndQuery: string): SignedPathCheck;
  filePath(bucket: string, key: string): string;
  /** The type given to `put`; `application/octet-stream` for files placed there by other means. */
  contentTypeOf(bucket: string, key: string): Promise<string>;
}

const DEFAULT_CONTENT_TYPE = 'application/octet-stream';

function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  // ENOTDIR: a parent of the key is itself an object, so this key cannot exist.
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/**
 * Objects are plain files at `<rootDir>/<bucket>/<key>`, so the tree mirrors the bucket. Content
 * types and in-flight writes live beside the buckets under names no bucket can take (a bucket
 * name cannot start with a dot). As on a file system, a key cannot be both an object and the
 * prefix of another key (`a` and `a/b`).
 */
export function localObjectStore(opts: LocalObjectStoreOptions): LocalObjectStore {
  const root = resolve(opts.rootDir);
  const tmpDir = join(root, '.tmp');
  const metaDir = join(root, '.meta');
  const baseUrl = opts.publicBaseUrl.replace(/\/+$/, '');

  function filePath(bucket: string, key: string): string {
    assertObjectName(bucket, key);
    return join(root, bucket, ...key.split('/'));
  }

  // Hashed so that any key maps to one flat file: no nesting clashes between `a` and `a/b`.
  function metaPath(bucket: string, key: string): string {
    return join(metaDir, bucket, createHash('sha256').update(key).digest('hex'));
  }

  /** Writes through a temporary file and a rename, so readers see the old object or the new one. */
  async function replaceAtomically(target: string, write: (tmp: string) => Promise<void>): Promise<void> {
    await mkdir(tmpDir, { recursive: true });
    await mkdir(dirname(target), { recursive: true });
    const tmp = join(tmpDir, randomUUID());
    try {
      await write(tmp);
      await rename(tmp, target);
    } finally {
      await rm(tmp, { force: true });
    }
  }

  async function isFile(path: string): Promise<boolean> {
    try {
      return (await stat(path)).isFile();
    } catch (err) {
      if (isMissing(err)) return false;
      throw err;
    }
  }

  return {
    filePath,

    async put(bucket, key, fromPath, contentType) {
      const target = filePath(bucket, key);
      let sizeBytes = 0;
      await replaceAtomically(target, async (tmp) => {
        await copyFile(fromPath, tmp);
        sizeBytes = (await stat(tmp)).size;
        // The type goes in after the copy succeeded (a failed put changes nothing) and before the
        // bytes become visible (they never show with an older type).
        await replaceAtomically(metaPath(bucket, key), (metaTmp) =>
          writeFile(metaTmp, JSON.stringify({ contentType })),
        );
      });
      return { sizeBytes };
    },

    async download(bucket, key, toPath) {
      const source = filePath(bucket, key);
      try {
        await copyFile(source, toPath);
      } catch (err) {
        // The error may as well be about toPath; only a missing source means a missing object.
        if (!(await isFile(source))) throw new ObjectNotFoundError(bucket, key);
        throw err;
      }
    },

    async exists(bucket, key) {
      return isFile(filePath(bucket, key));
    },

    async delete(bucket, key) {
      const target = filePath(bucket, key);
      if (await isFile(target)) await rm(target, { force: true });
      await rm(metaPath(bucket, key), { force: true });
    },

    async signedReadUrl(bucket, key, ttlSeconds) {
      assertTtl(ttlSeconds);
      const expires = Math.floor(Date.now() / 1000) + ttlSeconds;
      return `${baseUrl}${signPath(opts.signingKey, bucket, key, expires)}`;
    },

    authorize(pathAndQuery) {
      return checkSignedPath(opts.signingKey, pathAndQuery, Date.now());
    },

    verify(pathAndQuery) {
      const check = checkSignedPath(opts.signingKey, pathAndQuery, Date.now());
      return check.ok ? { bucket: check.bucket, key: check.key } : null;
    },

    async contentTypeOf(bucket, key) {
      assertObjectName(bucket, key);
      try {
        const meta = JSON.parse(await readFile(metaPath(bucket, key), 'utf8')) as { contentType?: unknown };
        return typeof meta.contentType === 'string' ? meta.contentType : DEFAULT_CONTENT_TYPE;
      } catch (err) {
        if (isMissing(err)) return DEFAULT_CONTENT_TYPE;
        throw err;
      }
    },
  };
}
