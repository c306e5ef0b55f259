/**
 * The one mapping from what the library throws to what a partner sees: domain errors become
 * RFC 9457 problems with their own codes; a saturated database pool becomes 503 `service_busy`,
 * so overload is refused at once instead of queueing until the client gives up.
 */
import { isDatabaseBusy } from '../db/errors';
import {
  ConflictError,
  ForbiddenError,
  NotFoundError,
  UnauthenticatedError,
  UnavailableError,
  UnprocessableError,
  ValidationError,
} from '../errors';
import { HttpProblem, problems } from './problem';

/** Seconds a client should wait after a 503 before it tries again. */
const BUSY_RETRY_AFTER_SECONDS = 1;

/** The problem for a known error; undefined for anything else (a bug: 500). */
export function toProblem(err: unknown): HttpProblem | undefined {
  if (err instanceof HttpProblem) return err;
  if (err instanceof ValidationError) {
    return err.code === 'validation_failed'
      ? problems.validation(err.errors)
      : new HttpProblem(422, err.code, 'Unprocessable request', err.message, err.errors);
  }
  if (err instanceof NotFoundError) return problems.notFound(err.what);
  if (err instanceof ForbiddenError) return problems.forbidden(err.code, err.message);
  if (err instanceof ConflictError) return problems.conflict(err.code, err.message);
  if (err instanceof UnprocessableError) return problems.unprocessable(err.code, err.message);
  if (err instanceof UnauthenticatedError) {
    return new HttpProblem(401, err.code, 'Unauthorized', err.message, undefined, {
      'WWW-Authenticate': 'Bearer realm="aiprod"',
    });
  }
  if (err instanceof UnavailableError) {
    return new HttpProblem(503, err.code, 'Service unavailable', err.message, undefined, {
      'Retry-After': String(err.retryAfterSeconds),
    });
  }
  if (isDatabaseBusy(err)) {
    return problems.busy('The service is at capacity; retry shortly.', BUSY_RETRY_AFTER_SECONDS);
  }
  return undefined;
}
