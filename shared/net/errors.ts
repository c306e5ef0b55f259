export type FetchErrorCode =
  | 'url_forbidden'
  | 'input_unreachable'
  | 'input_http_error'
  | 'input_too_large'
  | 'input_timeout'
  | 'too_many_redirects';

/**
 * The only error a fetch of an input throws when it fails, so callers can map `code` straight
 * onto a job failure reason. Messages carry the origin and path at most: a partner's URL is often
 * a signed URL whose query string is a credential.
 */
export class FetchError extends Error {
  override readonly name = 'FetchError';

  constructor(
    public readonly code: FetchErrorCode,
    message: string,
    /** The upstream HTTP status, set only for `input_http_error`. */
    public readonly status?: number,
  ) {
    super(message);
  }
}

const UNITS: [string, number][] = [
  ['GiB', 1024 ** 3],
  ['MiB', 1024 ** 2],
  ['KiB', 1024],
];

/** `3 GiB (3221225472 bytes)`: a size as partners read it, with the exact figure beside it. */
export function describeBytes(bytes: number): string {
  const unit = UNITS.find(([, size]) => bytes >= size);
  if (!unit) return `${bytes} bytes`;
  const [name, size] = unit;
  return `${Number((bytes / size).toFixed(1))} ${name} (${bytes} bytes)`;
}
