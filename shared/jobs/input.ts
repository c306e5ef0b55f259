/**
 * A job's input, served to the media engine on loopback and read from where it lies, a range at a
 * time: through the guard from a partner's http(s) URL, or from the tenant's upload in the object
 * store. Nothing of it is stored whole, except from an origin that does not answer range requests
 * (a bounded spool, see input-limit.ts): on Cloud Run the scratch dir is memory.
 */
import { extname, join } from 'node:path';
import { config } from '../config';
import { describeBytes, FetchError, openOrigin, serveInput, type InputSource } from '../net';
import { objectStore } from '../platform';
import { ObjectNotFoundError } from '../storage';
import { maxInputBytes, SPOOL_MAX_BYTES } from './input-limit';

export interface JobInput {
  /** A loopback http URL the media engine reads the input at (ranges served); valid until `close`. Never log it. */
  url: string;
  sizeBytes: number;
  /** The origin's failure that broke a read, if any: the job fails with it, whatever ffmpeg made of it. */
  failure(): unknown;
  close(): Promise<void>;
}

/** Opens the input and serves it. Refuses one over the limit before reading any of it, when its size is known. */
export async function fetchInput(videoUrl: string, workDir: string, signal: AbortSignal): Promise<JobInput> {
  const url = new URL(videoUrl);
  const extension = extname(url.pathname).toLowerCase() || '.bin';
  const source = url.protocol === 'gs:' ? await uploadSource(url) : await httpSource(videoUrl, workDir, signal);
  try {
    const served = await serveInput(source, { filename: `input${extension}`, signal });
    return { ...served, sizeBytes: source.sizeBytes };
  } catch (err) {
    await source.close();
    throw err;
  }
}

/**
 * Runs `use` on the job's input and closes it after. A read the origin broke fails the job with the
 * origin's error even when ffmpeg made do (a cut-short input can still give a shorter output).
 */
export async function withInput<T>(
  videoUrl: string,
  workDir: string,
  signal: AbortSignal,
  use: (input: JobInput) => Promise<T>,
): Promise<T> {
  const input = await fetchInput(videoUrl, workDir, signal);
  try {
    const result = await use(input);
    const failure = input.failure();
    if (failure !== undefined) throw failure;
    return result;
  } catch (err) {
    throw input.failure() ?? err;
  } finally {
    await input.close();
  }
}

function httpSource(videoUrl: string, workDir: string, signal: AbortSignal): Promise<InputSource> {
  const c = config();
  return openOrigin(videoUrl, {
    maxBytes: maxInputBytes(),
    spool: { path: join(workDir, 'input.spool'), maxBytes: SPOOL_MAX_BYTES },
    timeoutMs: c.AIPROD_FETCH_TIMEOUT_MS,
    allowPrivate: c.AIPROD_ALLOW_PRIVATE_URLS,
    signal,
  });
}

/** A tenant's upload, read in ranges from the object store. */
async function uploadSource(url: URL): Promise<InputSource> {
  const bucket = url.host;
  const key = decodeURIComponent(url.pathname.slice(1));
  const store = objectStore();
  let sizeBytes: number;
  try {
    ({ sizeBytes } = await store.stat(bucket, key));
  } catch (err) {
    // An upload that was never finished is the partner's to fix, not ours to retry: the job
    // fails at once, as for a missing http(s) input, rather than when its attempts run out.
    if (err instanceof ObjectNotFoundError) {
      throw new FetchError('input_http_error', `${url.href}: no such object (was the upload finished?)`, 404);
    }
    throw err;
  }
  const limit = maxInputBytes();
  if (sizeBytes > limit) {
    throw new FetchError(
      'input_too_large',
      `${url.href}: the input is ${describeBytes(sizeBytes)}; the largest input accepted is ${describeBytes(limit)}`,
    );
  }
  return {
    sizeBytes,
    name: url.href,
    read: async (range) => store.readRange(bucket, key, range),
    close: async () => undefined,
  };
}
