/**
 * Whether a client library's error is the dependency's passing trouble (overload, an outage, a lost
 * connection, no answer in time), which a retry later may get past and which a circuit breaker
 * counts, or an answer about the call itself (not found, refused, invalid), which neither does.
 */

/** gRPC status codes of a service in trouble: CANCELLED (by the server), UNKNOWN, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, ABORTED, INTERNAL, UNAVAILABLE. */
const TRANSIENT_GRPC_CODES = new Set([1, 2, 4, 8, 10, 13, 14]);

/** Socket and DNS failures on the way to the service (Node's and undici's codes). */
const TRANSIENT_NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ETIMEDOUT',
  'ESOCKETTIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);

/**
 * True for an HTTP status of 408, 429 or 5xx, a transient gRPC code (the numbers under 100 are
 * gRPC's; Google's libraries put either in `code`), a network error code, or a timeout; the
 * error's `cause` chain is followed, as fetch wraps the socket's error in a TypeError.
 */
export function isTransientError(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && typeof e === 'object' && depth < 5; depth++) {
    const { code, name } = e as { code?: unknown; name?: unknown };
    // First: a DOMException carries a legacy numeric `code` of its own.
    if (name === 'TimeoutError') return true;
    if (typeof code === 'number') {
      return code < 100 ? TRANSIENT_GRPC_CODES.has(code) : code === 408 || code === 429 || code >= 500;
    }
    if (typeof code === 'string' && TRANSIENT_NETWORK_CODES.has(code)) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

const GRPC_STATUS_NAMES = [
  'OK',
  'CANCELLED',
  'UNKNOWN',
  'INVALID_ARGUMENT',
  'DEADLINE_EXCEEDED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION',
  'ABORTED',
  'OUT_OF_RANGE',
  'UNIMPLEMENTED',
  'INTERNAL',
  'UNAVAILABLE',
  'DATA_LOSS',
  'UNAUTHENTICATED',
] as const;

/** The name of a gRPC status code (14: UNAVAILABLE), for messages; the number itself when unknown. */
export function grpcStatusName(code: number): string {
  return GRPC_STATUS_NAMES[code] ?? String(code);
}
