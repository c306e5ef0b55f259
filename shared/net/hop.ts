/**
 * One outbound connection to a partner's URL without letting it reach anything private: the
 * pieces every outbound request shares (downloads, webhook deliveries). The host is resolved once,
 * every address is checked, and the socket connects to exactly the checked addresses, so a DNS
 * answer that changes between check and connect cannot redirect it.
 */
import { promises as dns, type LookupAddress } from 'node:dns';
import type { LookupFunction } from 'node:net';
import { assertPublicAddress } from './address-policy';
import { FetchError } from './errors';
import { redactUrl } from './url-policy';

/** How each hop decides where it may connect. Production uses the system resolver and `assertPublicAddress`. */
export interface HopPolicy {
  resolve(hostname: string): Promise<LookupAddress[]>;
  checkAddress(ip: string): void;
}

/** The system resolver, and the public-address check unless private addresses are allowed (tests, local stack). */
export function systemHopPolicy(allowPrivate: boolean): HopPolicy {
  return {
    resolve: (hostname) => dns.lookup(hostname, { all: true }),
    checkAddress: allowPrivate ? () => undefined : assertPublicAddress,
  };
}

/** The addresses `url` may be fetched from, each one checked; refuses the hop if any is not allowed. */
export async function checkHop(url: URL, policy: HopPolicy, signal: AbortSignal): Promise<LookupAddress[]> {
  const host = bareHostname(url);
  let addresses: LookupAddress[];
  try {
    addresses = await abortable(policy.resolve(host), signal);
  } catch (err) {
    if (signal.aborted) throw err;
    throw new FetchError('input_unreachable', `${redactUrl(url)}: cannot resolve ${host} (${errorCode(err)})`);
  }
  if (addresses.length === 0) throw new FetchError('input_unreachable', `${redactUrl(url)}: ${host} has no address`);
  // Refuse if ANY address is private: the connection could use any of them.
  for (const { address } of addresses) {
    try {
      policy.checkAddress(address);
    } catch (err) {
      // Name the host, not the address: a partner may read this, and internal addresses are nobody's business.
      if (err instanceof FetchError)
        throw new FetchError(err.code, `${redactUrl(url)}: ${host} has a non-public address`);
      throw err;
    }
  }
  return addresses;
}

/** `[::1]` -> `::1`: URL keeps the brackets, the resolver and the socket want the bare address. */
export function bareHostname(url: URL): string {
  return url.hostname.replace(/^\[(.*)\]$/, '$1');
}

/**
 * A `lookup` for the socket that answers only with the addresses already checked. Node calls it
 * with `all: true` when it races IPv4 and IPv6 (autoSelectFamily), with `all: false` otherwise.
 */
export function pinnedLookup(addresses: LookupAddress[]): LookupFunction {
  return (hostname, options, callback) => {
    const family = options.family === 'IPv4' ? 4 : options.family === 'IPv6' ? 6 : (options.family ?? 0);
    const usable = family === 0 ? addresses : addresses.filter((a) => a.family === family);
    const first = usable[0];
    if (!first) {
      const err: NodeJS.ErrnoException = new Error(`no IPv${family} address for ${hostname}`);
      err.code = 'ENOTFOUND';
      callback(err, '', family);
    } else if (options.all) {
      callback(null, usable);
    } else {
      callback(null, first.address, first.family);
    }
  };
}

/** The errno code of a socket or resolver error (`ECONNREFUSED`), for messages a partner may read. */
export function errorCode(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' ? code : 'connection failed';
}

/** DNS lookups cannot be cancelled; stop waiting for one when the request is aborted. */
export function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}
