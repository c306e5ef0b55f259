import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { copyFile, link, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { assertObjectName } from './keys';
import { assertTtl, assertUploadTerms, ObjectNotFoundError, type ObjectStore } from './object-store';
import {
  checkSignedPath,
  checkSignedUploadPath,
  signPath,
  signUploadPath,
  type SignedPathCheck,
  type SignedUploadCheck,
} from './signed-path';

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
  /** What a signed upload target allows to be stored, or why it is refused. */
  authorizeUpload(pathAndQuery: string): SignedUploadCheck;
  /**
   * Stores a new object from a stream that must be exactly `sizeBytes` long. Never replaces one:
   * a signed upload in Cloud Storage cannot either (its signer may create objects, not overwrite).
   */
  createFrom(bucket: string, key: string, body: Readable, contentType: string, sizeBytes: number): Promise<void>;
  filePath(bucket: string, key: string): string;
  /** The type given to `put`; `application/octet-stream` for files placed there by other means. */
  contentTypeOf(bucket: string, key: string): Promise<string>;
}

const DEFAULT_CONTENT_TYPE = 'application/octet-stream';

export class ObjectExistsError extends Error {
  override readonly name = 'ObjectExistsError';
  readonly code = 'object_exists';

  constructor(bucket: string, key: string) {
    super(`object ${key} already exists in bucket ${bucket}`);
  }
}

/** A body of another size than the one declared; nothing was stored. */
export class ObjectSizeError extends Error {
  override readonly name = 'ObjectSizeError';
  readonly code = 'content_length_mismatch';

  constructor(expected: number) {
    super(`the body is not the ${expected} bytes declared`);
  }
}

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

  /** The body, checked against the declared size as it arrives, into a private temporary file. */
  async function receive(body: Readable, tmp: string, sizeBytes: number): Promise<void> {
    let received = 0;
    await pipeline(
      body,
      async function* (source: AsyncIterable<Buffer>) {
        for await (const chunk of source) {
          received += chunk.length;
          if (received > sizeBytes) throw new ObjectSizeError(sizeBytes);
          yield chunk;
        }
      },
      createWriteStream(tmp, { flags: 'wx' }),
    );
    if (received !== sizeBytes) throw new ObjectSizeError(sizeBytes);
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

    async stat(bucket, key) {
      try {
        const info = await stat(filePath(bucket, key));
        if (info.isFile()) return { sizeBytes: info.size };
      } catch (err) {
        if (!isMissing(err)) throw err;
      }
      throw new ObjectNotFoundError(bucket, key);
    },

    readRange(bucket, key, { start, end }) {
      return createReadStream(filePath(bucket, key), { start, end });
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

    async signedUploadUrl(bucket, key, terms) {
      assertUploadTerms(terms);
      const expires = Math.floor(Date.now() / 1000) + terms.ttlSeconds;
      return {
        url: `${baseUrl}${signUploadPath(opts.signingKey, bucket, key, terms, expires)}`,
        headers: { 'Content-Type': terms.contentType, 'Content-Length': String(terms.sizeBytes) },
        expiresAt: new Date(expires * 1000),
      };
    },

    async createFrom(bucket, key, body, contentType, sizeBytes) {
      const target = filePath(bucket, key);
      await mkdir(tmpDir, { recursive: true });
      await mkdir(dirname(target), { recursive: true });
      const tmp = join(tmpDir, randomUUID());
      try {
        await receive(body, tmp, sizeBytes);
        // The type goes in before the bytes become visible. Only a racing upload of the same key
        // (the same URL, so the same type) can find the object there after all.
        await replaceAtomically(metaPath(bucket, key), (metaTmp) =>
          writeFile(metaTmp, JSON.stringify({ contentType })),
        );
        // A hard link appears whole or not at all, and fails rather than replace what is there.
        await link(tmp, target).catch((err: NodeJS.ErrnoException) => {
          throw err.code === 'EEXIST' ? new ObjectExistsError(bucket, key) : err;
        });
      } finally {
        await rm(tmp, { force: true });
      }
    },

    authorize(pathAndQuery) {
      return checkSignedPath(opts.signingKey, pathAndQuery, Date.now());
    },

    authorizeUpload(pathAndQuery) {
      return checkSignedUploadPath(opts.signingKey, pathAndQuery, Date.now());
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
