export type FetchErrorCode =
  | 'url_forbidden'
  | 'input_unreachable'
  | 'input_http_error'
  | 'input_too_large'
  | 'input_timeout'
  | 'too_many_redirects';

/**
 * The only error `downloadToFile` throws for a failed fetch, so callers can map `code` straight
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
