/**
 * A partner's input read where it lies, a range at a time, through the guard. The URL is opened
 * once: redirects followed, every hop checked, the final host's addresses checked; every later
 * range goes to that final URL and to those addresses only, so no DNS answer given after the check
 * is ever used. An origin that does not answer range requests is read once, whole, into a bounded
 * spool (spool.ts). The input's size is known before any byte of its body is read whenever the
 * origin states it, so an input over the limit is refused without being downloaded.
 */
import type { LookupAddress } from 'node:dns';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { describeBytes, FetchError } from './errors';
import { DEFAULT_MAX_REDIRECTS, getFollowingRedirects, getPinned, type GuardedAnswer } from './guarded-get';
import { systemHopPolicy, type HopPolicy } from './hop';
import type { InputSource } from './input-server';
import { spoolBody } from './spool';
import { checkUrlShape, redactUrl } from './url-policy';

export interface OriginOptions {
  /** The largest input accepted: input_too_large beyond it, before any body byte when the origin states the size. */
  maxBytes: number;
  /** Where an input whose origin does not answer range requests is kept whole, and how large it may then be. */
  spool: { path: string; maxBytes: number };
  /**
   * Cap on every wait for the origin: the opening (each lookup and hop, the first answer, and a
   * whole spool), each range's answer, and any silence of a body while a reader waits for it.
   */
  timeoutMs: number;
  /** Lifts only the address check, for tests and the local stack serving files from 127.0.0.1. */
  allowPrivate: boolean;
  /** Default 5. */
  maxRedirects?: number;
  /** The caller's own cancellation of the opening; when it fires, its reason is thrown as is. */
  signal?: AbortSignal;
}

/** Ranges fetched at once from one origin: more than the readers of one input ever ask for together. */
const MAX_SOCKETS = 8;

export function openOrigin(url: string, opts: OriginOptions): Promise<InputSource> {
  return openOriginWithPolicy(url, opts, systemHopPolicy(opts.allowPrivate));
}

/** `openOrigin` with the per-hop policy spelled out; tests use it to stand in for DNS. */
export async function openOriginWithPolicy(url: string, opts: OriginOptions, policy: HopPolicy): Promise<InputSource> {
  const start = checkUrlShape(url);
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(), opts.timeoutMs);
  const onCallerAbort = (): void => deadline.abort();
  if (opts.signal?.aborted) deadline.abort();
  opts.signal?.addEventListener('abort', onCallerAbort, { once: true });
  const signal = deadline.signal;
  try {
    // One byte asked for: the answer says whether ranges are served and, in Content-Range, the size.
    // A GET, not a HEAD: a signed URL is often valid for GET only.
    const first = await getFollowingRedirects(start, policy, {
      signal,
      maxRedirects: opts.maxRedirects ?? DEFAULT_MAX_REDIRECTS,
      headers: { range: 'bytes=0-0' },
    });
    return await sourceFrom(first, opts, signal);
  } catch (err) {
    if (err instanceof FetchError) throw err;
    if (opts.signal?.aborted) throw opts.signal.reason;
    if (signal.aborted) {
      throw new FetchError('input_timeout', `${redactUrl(start)}: not read within ${opts.timeoutMs} ms`);
    }
    throw err;
  } finally {
    clearTimeout(timer);
    opts.signal?.removeEventListener('abort', onCallerAbort);
  }
}

async function sourceFrom(first: GuardedAnswer, opts: OriginOptions, signal: AbortSignal): Promise<InputSource> {
  const { res, url } = first;
  const status = res.statusCode ?? 0;
  if (status === 206 || status === 416) {
    res.destroy();
    const total = contentRange(res.headers['content-range'])?.total;
    if (total !== undefined) {
      if (total > opts.maxBytes) throw tooLarge(url, total, opts.maxBytes);
      return rangedSource(first, total, res.headers.etag, opts.timeoutMs);
    }
    if (status === 416) throw httpError(url, status);
    // Ranges without a stated size cannot be offered to a reader that seeks: read it whole.
    return spool(await getPinned(url, first.addresses, { signal }), url, opts, signal);
  }
  return spool(res, url, opts, signal);
}

async function spool(res: IncomingMessage, url: URL, opts: OriginOptions, signal: AbortSignal): Promise<InputSource> {
  const status = res.statusCode ?? 0;
  if (status < 200 || status > 299) {
    res.destroy();
    throw httpError(url, status);
  }
  const cap = Math.min(opts.spool.maxBytes, opts.maxBytes);
  const refusal = (sizeBytes?: number): FetchError =>
    cap === opts.maxBytes ? tooLarge(url, sizeBytes, cap) : tooLargeWithoutRanges(url, sizeBytes, cap);
  const declared = Number(res.headers['content-length'] ?? NaN);
  if (Number.isFinite(declared) && declared > cap) {
    res.destroy();
    throw declared > opts.maxBytes ? tooLarge(url, declared, opts.maxBytes) : refusal(declared);
  }
  return spoolBody(res, opts.spool.path, { name: redactUrl(url), maxBytes: cap, tooLarge: refusal, signal });
}

/** Every range a fresh GET of the final URL, to its checked addresses, over connections kept alive to them. */
function rangedSource(
  first: { url: URL; addresses: LookupAddress[] },
  sizeBytes: number,
  etag: string | undefined,
  timeoutMs: number,
): InputSource {
  const { url, addresses } = first;
  const name = redactUrl(url);
  // Pooling is safe here as it is not for hops: every socket of this agent goes to one checked address list.
  const agent = new (url.protocol === 'https:' ? https.Agent : http.Agent)({
    keepAlive: true,
    maxSockets: MAX_SOCKETS,
  });
  return {
    sizeBytes,
    name,
    stallMs: timeoutMs,
    async read({ start, end }, signal) {
      const answered = new AbortController();
      const timer = setTimeout(() => answered.abort(), timeoutMs);
      let res: IncomingMessage;
      try {
        res = await getPinned(url, addresses, {
          signal: AbortSignal.any([signal, answered.signal]),
          agent,
          headers: { range: `bytes=${start}-${end}` },
        });
      } catch (err) {
        if (answered.signal.aborted && !signal.aborted) {
          throw new FetchError('input_timeout', `${name}: no answer within ${timeoutMs} ms`);
        }
        throw err;
      } finally {
        clearTimeout(timer);
      }
      const problem = rangeProblem(res, url, { start, end, sizeBytes, etag });
      if (problem) {
        res.destroy();
        throw problem;
      }
      return res;
    },
    close: async () => agent.destroy(),
  };
}

/** Why an answer to a range request is not the bytes asked for of the input first seen; null when it is. */
function rangeProblem(
  res: IncomingMessage,
  url: URL,
  asked: { start: number; end: number; sizeBytes: number; etag: string | undefined },
): FetchError | null {
  const status = res.statusCode ?? 0;
  const name = redactUrl(url);
  const changed = new FetchError('input_http_error', `${name}: the input changed while it was read`, status);
  if (asked.etag !== undefined && res.headers.etag !== undefined && res.headers.etag !== asked.etag) return changed;
  if (status === 206) {
    const range = contentRange(res.headers['content-range']);
    if (range?.total !== undefined && range.total !== asked.sizeBytes) return changed;
    if (range?.start === asked.start && range.end === asked.end) return null;
    return new FetchError(
      'input_http_error',
      `${name}: answered ${res.headers['content-range'] ?? 'no Content-Range'} to bytes ${asked.start}-${asked.end}`,
      status,
    );
  }
  // The whole input from its first byte holds the range asked for; the reader takes what it wants.
  if (status === 200 && asked.start === 0) {
    return Number(res.headers['content-length'] ?? asked.sizeBytes) === asked.sizeBytes ? null : changed;
  }
  if (status >= 200 && status <= 299) {
    return new FetchError('input_http_error', `${name}: HTTP ${status} to a range request`, status);
  }
  return httpError(url, status);
}

/** `bytes 0-0/1234`, and for a 416 `bytes *\/1234`; `total` is undefined when the origin writes `*`. */
function contentRange(header: string | undefined): { start?: number; end?: number; total?: number } | null {
  const match = /^\s*bytes\s+(?:(\d+)-(\d+)|\*)\/(\d+|\*)\s*$/i.exec(header ?? '');
  if (!match) return null;
  const [, start, end, total] = match;
  const number = (value: string | undefined): number | undefined =>
    value === undefined || value === '*' ? undefined : Number(value);
  return { start: number(start), end: number(end), total: number(total) };
}

function httpError(url: URL, status: number): FetchError {
  return new FetchError('input_http_error', `${redactUrl(url)}: HTTP ${status}`, status);
}

function sizeText(sizeBytes: number | undefined, limit: number): string {
  return sizeBytes === undefined ? `over ${describeBytes(limit)}` : describeBytes(sizeBytes);
}

function tooLarge(url: URL, sizeBytes: number | undefined, limit: number): FetchError {
  return new FetchError(
    'input_too_large',
    `${redactUrl(url)}: the input is ${sizeText(sizeBytes, limit)}; the largest input accepted is ${describeBytes(limit)}`,
  );
}

function tooLargeWithoutRanges(url: URL, sizeBytes: number | undefined, limit: number): FetchError {
  return new FetchError(
    'input_too_large',
    `${redactUrl(url)}: the input is ${sizeText(sizeBytes, limit)}; its server does not answer range requests, and the ` +
      `largest input accepted from such a server is ${describeBytes(limit)} (serve it with range requests, or upload it)`,
  );
}
