/**
 * One POST to an outside URL (a webhook delivery, an alert to Slack) through the same guard as
 * downloads: the URL's shape is checked, its host resolved once and every address checked, and the
 * socket connects to exactly those addresses. Redirects are never followed: a 3xx is the answer.
 * Only https leaves unless private addresses are allowed (tests and the local stack,
 * AIPROD_ALLOW_PRIVATE_URLS).
 */
import type { LookupAddress } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { FetchError } from './errors';
import { bareHostname, checkHop, errorCode, pinnedLookup, systemHopPolicy, type HopPolicy } from './hop';
import { checkUrlShape, redactUrl } from './url-policy';

export interface PostOptions {
  /** Cap on the whole request: the lookup, the connection, the body sent and the answer's status and headers. */
  timeoutMs: number;
  /** Lifts the address check and allows plain http, for tests and the local stack. */
  allowPrivate: boolean;
  headers: Record<string, string>;
  /**
   * Read up to this many bytes of the answer's body into `body` (within `timeoutMs`), for callers
   * whose receiver answers in it (Slack's Web API); unset, the body is not read.
   */
  maxAnswerBytes?: number;
}

export interface PostAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** The answer's body, cut at `maxAnswerBytes`; only when that was asked for. */
  body?: string;
}

const USER_AGENT = 'AIPROD-webhooks/1.0';

/**
 * POSTs `body` and resolves with the answer's status and headers as soon as they arrive (with its
 * body, when `maxAnswerBytes` asks for it). Throws FetchError: `url_forbidden` (shape, scheme or
 * address), `input_unreachable` (name or connection), `input_timeout` (no answer within `timeoutMs`).
 */
export function postPinned(url: string, body: string, opts: PostOptions): Promise<PostAnswer> {
  return postWithPolicy(url, body, opts, systemHopPolicy(opts.allowPrivate));
}

/** `postPinned` with the hop policy spelled out; tests use it to stand in for DNS. */
export async function postWithPolicy(
  url: string,
  body: string,
  opts: PostOptions,
  policy: HopPolicy,
): Promise<PostAnswer> {
  const target = checkUrlShape(url);
  if (target.protocol !== 'https:' && !opts.allowPrivate) {
    throw new FetchError('url_forbidden', `${redactUrl(target)}: only https URLs are allowed`);
  }
  const deadline = AbortSignal.timeout(opts.timeoutMs);
  try {
    const addresses = await checkHop(target, policy, deadline);
    return await send(target, addresses, body, opts, deadline);
  } catch (err) {
    if (err instanceof FetchError) throw err;
    if (deadline.aborted) {
      throw new FetchError('input_timeout', `${redactUrl(target)}: no answer within ${opts.timeoutMs} ms`);
    }
    throw err;
  }
}

function send(
  url: URL,
  addresses: LookupAddress[],
  body: string,
  opts: PostOptions,
  signal: AbortSignal,
): Promise<PostAnswer> {
  const client = url.protocol === 'https:' ? https : http;
  const payload = Buffer.from(body);
  return new Promise((resolve, reject) => {
    const req = client.request({
      protocol: url.protocol,
      // The hostname, not the IP, so Host and TLS SNI/certificate checks still name the partner's host.
      hostname: bareHostname(url),
      port: url.port === '' ? undefined : Number(url.port),
      path: `${url.pathname}${url.search}`,
      method: 'POST',
      headers: {
        'user-agent': USER_AGENT,
        'accept-encoding': 'identity',
        ...opts.headers,
        'content-length': String(payload.length),
      },
      lookup: pinnedLookup(addresses),
      // No pooled sockets: a reused connection would skip this request's lookup.
      agent: false,
      signal,
    });
    req.once('response', (res) => {
      const answer = { status: res.statusCode ?? 0, headers: res.headers };
      const cap = opts.maxAnswerBytes;
      if (cap === undefined) {
        // The status and headers are the answer; its body is nobody's business here.
        res.destroy();
        resolve(answer);
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      const done = (): void => resolve({ ...answer, body: Buffer.concat(chunks).subarray(0, cap).toString('utf8') });
      res.on('data', (chunk: Buffer) => {
        if (size >= cap) return;
        chunks.push(chunk);
        size += chunk.length;
        // Enough read: what follows cannot change the answer.
        if (size >= cap) {
          res.destroy();
          done();
        }
      });
      res.once('end', done);
      res.once('error', (err) => {
        if (signal.aborted) reject(err);
        else reject(new FetchError('input_unreachable', `${redactUrl(url)}: connection lost while reading the answer`));
      });
    });
    // `on`, not `once`: the socket can still fail after the response arrived. Later rejects are no-ops.
    req.on('error', (err) => {
      if (signal.aborted) reject(err);
      else reject(new FetchError('input_unreachable', `${redactUrl(url)}: ${errorCode(err)}`));
    });
    req.end(payload);
  });
}
