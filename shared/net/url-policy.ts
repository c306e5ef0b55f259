import { FetchError } from './errors';

/**
 * Names that reach the cloud metadata server (or other VPC-internal services) without going
 * through an address the resolver would show us as private. Refused by name as well, before any
 * lookup, even when private addresses are allowed for local testing.
 */
function isInternalHostname(hostname: string): boolean {
  const name = hostname.replace(/\.$/, '');
  return name === 'metadata' || name === 'metadata.google.internal' || name.endsWith('.internal');
}

/** Origin and path only: the query string of a signed URL is a credential and must never be echoed. */
export function redactUrl(url: URL): string {
  return `${url.origin}${url.pathname}`;
}

/** Parses `url` and refuses anything but a plain http(s) URL to a named or numeric host. */
export function checkUrlShape(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new FetchError('url_forbidden', 'not a valid absolute URL');
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new FetchError('url_forbidden', `scheme ${parsed.protocol} is not allowed; use http or https`);
  }
  // Credentials in a URL would be sent to whatever host a redirect names; refuse them outright.
  if (parsed.username !== '' || parsed.password !== '') {
    throw new FetchError('url_forbidden', 'credentials in the URL are not allowed');
  }
  if (parsed.hostname === '') throw new FetchError('url_forbidden', 'the URL has no host');
  if (isInternalHostname(parsed.hostname)) {
    throw new FetchError('url_forbidden', `${redactUrl(parsed)}: host ${parsed.hostname} is internal`);
  }
  return parsed;
}
