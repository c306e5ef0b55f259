/**
 * A job's input served to ffmpeg and ffprobe on loopback, read from where it lies a range at a
 * time. The media engine names its input by URL and seeks in it (an MP4 whose index comes last
 * must be read from its end first), yet nothing of it is stored whole: every request served is one
 * read of the source, streamed with backpressure and ended upstream as soon as the reader drops
 * the connection. One server per job, on 127.0.0.1, at a port of the system's choosing and under
 * a path no other process can guess.
 */
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Readable } from 'node:stream';
import { parseRange, type ByteRange } from '../storage/byte-range';
import { FetchError } from './errors';

export interface InputSource {
  readonly sizeBytes: number;
  /** Names the input in messages: never with a query string. */
  readonly name: string;
  /** Bytes `start` to `end`, inclusive; destroying the stream, or `signal`, ends the read where it comes from. */
  read(range: ByteRange, signal: AbortSignal): Promise<Readable>;
  /** How long a reader may wait for the next byte before its read fails with input_timeout; unset, no limit of ours. */
  readonly stallMs?: number;
  /** Lets go of what the source holds (a spooled copy, connections kept alive). */
  close(): Promise<void>;
}

export interface ServedInput {
  /** `http://127.0.0.1:<port>/<token>/<filename>`, valid until `close`. Never log it. */
  url: string;
  /** The first failure of the source while a reader was waiting on it, if any. */
  failure(): unknown;
  /** Stops serving, ends every read in flight and closes the source. Safe to call more than once. */
  close(): Promise<void>;
}

/** Far more than ffmpeg opens at once on one input; each connection holds a buffer or two. */
const MAX_CONNECTIONS = 16;

export async function serveInput(
  source: InputSource,
  opts: { filename: string; signal?: AbortSignal },
): Promise<ServedInput> {
  const path = `/${randomBytes(18).toString('base64url')}/${encodeURIComponent(opts.filename)}`;
  const closing = new AbortController();
  let failed: { error: unknown } | undefined;

  const server = createServer((req, res) => {
    serve(source, req, res, path, closing.signal).catch((error: unknown) => {
      failed ??= { error };
    });
  });
  server.maxConnections = MAX_CONNECTIONS;
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;

  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closed ??= (async () => {
      opts.signal?.removeEventListener('abort', onAbort);
      closing.abort();
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await stopped;
      await source.close();
    })();
    return closed;
  };
  const onAbort = (): void => void close();
  if (opts.signal?.aborted) await close();
  else opts.signal?.addEventListener('abort', onAbort, { once: true });

  return { url: `http://127.0.0.1:${port}${path}`, failure: () => failed?.error, close };
}

/**
 * Answers one request. Rejects only with a failure of the source that a reader was waiting on:
 * when the reader went away or the server is closing, the read's end is nobody's failure.
 */
async function serve(
  source: InputSource,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  closing: AbortSignal,
): Promise<void> {
  if ((req.url ?? '').split('?')[0] !== path) return void res.writeHead(404).end();
  if (req.method !== 'GET' && req.method !== 'HEAD') return void res.writeHead(405, { Allow: 'GET, HEAD' }).end();
  const size = source.sizeBytes;
  const range = parseRange(req.headers.range, size);
  if (range === 'unsatisfiable') return void res.writeHead(416, { 'Content-Range': `bytes */${size}` }).end();
  const { start, end } = range ?? { start: 0, end: size - 1 };
  const headers: Record<string, string> = { 'Accept-Ranges': 'bytes', 'Content-Length': String(end - start + 1) };
  if (range) headers['Content-Range'] = `bytes ${start}-${end}/${size}`;
  const status = range ? 206 : 200;
  if (req.method === 'HEAD' || size === 0) return void res.writeHead(status, headers).end();

  const gone = new AbortController();
  res.once('close', () => gone.abort());
  const signal = AbortSignal.any([gone.signal, closing]);
  let body: Readable | undefined;
  try {
    body = await source.read({ start, end }, signal);
    // Errors reach us through the iterator below; one after we stopped reading is nobody's business.
    body.on('error', () => undefined);
    const stop = (): void => void body?.destroy();
    if (signal.aborted) stop();
    signal.addEventListener('abort', stop, { once: true });
    res.writeHead(status, headers);
    await pump(body, res, end - start + 1, source, signal);
    res.end();
  } catch (err) {
    body?.destroy();
    if (res.headersSent) res.destroy();
    else res.writeHead(502).end();
    if (!signal.aborted) throw err;
  }
}

/** Exactly `length` bytes of `body` to `res`, one chunk at a time, waiting whenever the reader is behind. */
async function pump(
  body: Readable,
  res: ServerResponse,
  length: number,
  source: InputSource,
  signal: AbortSignal,
): Promise<void> {
  const chunks: AsyncIterator<Buffer> = body[Symbol.asyncIterator]();
  let left = length;
  while (left > 0) {
    const next = await nextChunk(chunks, body, source);
    if (next.done) throw new FetchError('input_unreachable', `${source.name}: the answer ended ${left} bytes early`);
    const chunk = next.value.length > left ? next.value.subarray(0, left) : next.value;
    left -= chunk.length;
    if (!res.write(chunk)) await once(res, 'drain', { signal });
  }
  // Read to its end, a kept-alive connection goes back to its pool; whatever the source would send
  // beyond the range is not wanted.
  if (!(await nextChunk(chunks, body, source)).done) body.destroy();
}

/** The next chunk; the wait counts against the source's stall limit, the reader's own pauses do not. */
function nextChunk(
  chunks: AsyncIterator<Buffer>,
  body: Readable,
  source: InputSource,
): Promise<IteratorResult<Buffer>> {
  const { stallMs } = source;
  if (stallMs === undefined) return chunks.next();
  const timer = setTimeout(
    () => body.destroy(new FetchError('input_timeout', `${source.name}: no data for ${stallMs} ms`)),
    stallMs,
  );
  return chunks.next().finally(() => clearTimeout(timer));
}
