/**
 * GET requests to a partner's URL through the guard (hop.ts): every hop's shape is checked, its
 * host resolved once and every address checked, and the socket connects to exactly the checked
 * addresses, so a DNS answer that changes between check and connect cannot redirect it.
 */
import type { LookupAddress } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { FetchError } from './errors';
import { bareHostname, checkHop, errorCode, pinnedLookup, type HopPolicy } from './hop';
import { checkUrlShape, redactUrl } from './url-policy';

export const DEFAULT_MAX_REDIRECTS = 5;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const USER_AGENT = 'AIPROD-fetch/1.0';

export interface GuardedAnswer {
  res: http.IncomingMessage;
  /** The URL that answered, after redirects. It may be signed: never log it. */
  url: URL;
  /** The checked addresses of its host: what later requests to `url` must connect to. */
  addresses: LookupAddress[];
}

export interface PinnedRequest {
  signal: AbortSignal;
  headers?: Record<string, string>;
  /**
   * Default none (a socket of its own): a pooled connection would skip this hop's lookup. Only an
   * agent whose every request goes to one URL's checked addresses may keep sockets alive.
   */
  agent?: http.Agent;
}

/** GETs `start`, following up to `maxRedirects` redirects, each hop checked; the first other answer is returned. */
export async function getFollowingRedirects(
  start: URL,
  policy: HopPolicy,
  opts: { signal: AbortSignal; maxRedirects: number; headers?: Record<string, string> },
): Promise<GuardedAnswer> {
  let current = start;
  for (let redirects = 0; ; redirects += 1) {
    const addresses = await checkHop(current, policy, opts.signal);
    const res = await getPinned(current, addresses, opts);
    if (!REDIRECT_STATUSES.has(res.statusCode ?? 0) || res.headers.location === undefined) {
      return { res, url: current, addresses };
    }
    res.destroy();
    if (redirects >= opts.maxRedirects) {
      throw new FetchError('too_many_redirects', `${redactUrl(current)}: more than ${opts.maxRedirects} redirects`);
    }
    current = followLocation(current, res.headers.location);
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

/** One GET of `url` connected to `addresses` only; resolves with the answer's status and headers. */
export function getPinned(url: URL, addresses: LookupAddress[], opts: PinnedRequest): Promise<http.IncomingMessage> {
  const client = url.protocol === 'https:' ? https : http;
  const { signal } = opts;
  return new Promise((resolve, reject) => {
    const req = client.request({
      protocol: url.protocol,
      // The hostname, not the IP, so Host and TLS SNI/certificate checks still name the partner's host.
      hostname: bareHostname(url),
      port: url.port === '' ? undefined : Number(url.port),
      path: `${url.pathname}${url.search}`,
      method: 'GET',
      headers: { accept: '*/*', 'accept-encoding': 'identity', 'user-agent': USER_AGENT, ...opts.headers },
      lookup: pinnedLookup(addresses),
      agent: opts.agent ?? false,
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
