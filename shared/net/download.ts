import type { LookupAddress } from 'node:dns';
import { open, rm, type FileHandle } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import { FetchError } from './errors';
import { bareHostname, checkHop, errorCode, pinnedLookup, systemHopPolicy, type HopPolicy } from './hop';
import { checkUrlShape, redactUrl } from './url-policy';

export type { HopPolicy } from './hop';

export interface DownloadOptions {
  maxBytes: number;
  /** Cap on the whole download: every lookup, hop and byte of the body. */
  timeoutMs: number;
  /** Lifts only the address check, for tests and the local stack serving files from 127.0.0.1. */
  allowPrivate: boolean;
  /** Default 5. */
  maxRedirects?: number;
  /** The caller's own cancellation; when it fires, its reason is thrown as is. */
  signal?: AbortSignal;
}

export interface DownloadResult {
  bytes: number;
  contentType: string | null;
  /** The URL that answered after redirects. It may be signed: do not log it. */
  finalUrl: string;
}

const DEFAULT_MAX_REDIRECTS = 5;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const USER_AGENT = 'AIPROD-fetch/1.0';

/**
 * Downloads a partner's URL to `destPath` without letting the URL reach anything private.
 * Every hop is shape-checked, resolved once, checked, and then connected to exactly the checked
 * addresses, so a DNS answer that changes between check and connect cannot redirect the socket.
 * On any failure the partial file is removed.
 */
export function downloadToFile(url: string, destPath: string, opts: DownloadOptions): Promise<DownloadResult> {
  return fetchToFile(url, destPath, opts, systemHopPolicy(opts.allowPrivate));
}

/** `downloadToFile` with the per-hop policy spelled out; tests use it to stand in for DNS. */
export async function fetchToFile(
  url: string,
  destPath: string,
  opts: DownloadOptions,
  policy: HopPolicy,
): Promise<DownloadResult> {
  let current = checkUrlShape(url);
  const maxRedirects = opts.maxRedirects ?? DEFAULT_MAX_REDIRECTS;
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(), opts.timeoutMs);
  const onCallerAbort = (): void => deadline.abort();
  if (opts.signal?.aborted) deadline.abort();
  opts.signal?.addEventListener('abort', onCallerAbort, { once: true });
  const signal = deadline.signal;

  try {
    for (let redirects = 0; ; redirects += 1) {
      const addresses = await checkHop(current, policy, signal);
      const res = await get(current, addresses, signal);
      const status = res.statusCode ?? 0;

      if (REDIRECT_STATUSES.has(status) && res.headers.location !== undefined) {
        res.destroy();
        if (redirects >= maxRedirects) {
          throw new FetchError('too_many_redirects', `${redactUrl(current)}: more than ${maxRedirects} redirects`);
        }
        current = followLocation(current, res.headers.location);
        continue;
      }
      if (status < 200 || status > 299) {
        res.destroy();
        throw new FetchError('input_http_error', `${redactUrl(current)}: HTTP ${status}`, status);
      }
      const declared = Number(res.headers['content-length']);
      if (Number.isFinite(declared) && declared > opts.maxBytes) {
        res.destroy();
        throw tooLarge(current, opts.maxBytes);
      }
      const bytes = await writeBody(res, destPath, current, opts.maxBytes, signal);
      return { bytes, contentType: res.headers['content-type'] ?? null, finalUrl: current.href };
    }
  } catch (err) {
    if (err instanceof FetchError) throw err;
    if (opts.signal?.aborted) throw opts.signal.reason;
    if (signal.aborted) {
      throw new FetchError('input_timeout', `${redactUrl(current)}: not complete within ${opts.timeoutMs} ms`);
    }
    throw err;
  } finally {
    clearTimeout(timer);
    opts.signal?.removeEventListener('abort', onCallerAbort);
  }
}

function followLocation(from: URL, location: string): URL {
  let next: URL;
  try {
    next = new URL(location, from);
  } catch {
    throw new FetchError('url_forbidden', `${redactUrl(from)}: redirect to an invalid URL`);
  }
  return checkUrlShape(next.href);
}

function get(url: URL, addresses: LookupAddress[], signal: AbortSignal): Promise<http.IncomingMessage> {
  const client = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = client.request({
      protocol: url.protocol,
      // The hostname, not the IP, so Host and TLS SNI/certificate checks still name the partner's host.
      hostname: bareHostname(url),
      port: url.port === '' ? undefined : Number(url.port),
      path: `${url.pathname}${url.search}`,
      method: 'GET',
      headers: { accept: '*/*', 'accept-encoding': 'identity', 'user-agent': USER_AGENT },
      lookup: pinnedLookup(addresses),
      // No pooled sockets: a reused connection would skip this hop's lookup.
      agent: false,
      signal,
    });
    req.once('response', resolve);
    // `on`, not `once`: the socket can still fail after the response arrived, and an unheard
    // 'error' would crash the process. Later calls to reject are no-ops.
    req.on('error', (err) => {
      if (signal.aborted) reject(err);
      else reject(new FetchError('input_unreachable', `${redactUrl(url)}: ${errorCode(err)}`));
    });
    req.end();
  });
}

async function writeBody(
  res: http.IncomingMessage,
  destPath: string,
  url: URL,
  maxBytes: number,
  signal: AbortSignal,
): Promise<number> {
  let file: FileHandle;
  try {
    file = await open(destPath, 'w');
  } catch (err) {
    res.destroy();
    throw err;
  }
  let bytes = 0;
  try {
    for await (const chunk of readBody(res, url, signal)) {
      // Content-Length may be absent (chunked) or wrong, so the real cap is on bytes seen.
      bytes += chunk.length;
      if (bytes > maxBytes) throw tooLarge(url, maxBytes);
      await file.write(chunk);
    }
  } catch (err) {
    await file.close();
    await rm(destPath, { force: true });
    throw err;
  }
  await file.close();
  return bytes;
}

/**
 * The response body, with a broken connection reported as `input_unreachable`. Errors raised by
 * the consumer (a full disk, the size cap) do not pass through here and keep their own meaning.
 */
async function* readBody(res: http.IncomingMessage, url: URL, signal: AbortSignal): AsyncGenerator<Buffer> {
  try {
    for await (const chunk of res) yield chunk as Buffer;
  } catch (err) {
    if (signal.aborted) throw err;
    throw new FetchError('input_unreachable', `${redactUrl(url)}: connection lost while reading the body`);
  }
}

function tooLarge(url: URL, maxBytes: number): FetchError {
  return new FetchError('input_too_large', `${redactUrl(url)}: larger than ${maxBytes} bytes`);
}
