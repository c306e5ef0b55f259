/**
 * Domain errors: what the library throws when a request cannot be served as asked. They say what
 * went wrong in the domain's words, with a stable `code`; the HTTP layer (shared/http/errors.ts)
 * decides the status and the problem document, so no domain module knows about HTTP.
 */

/** One bad field of a request, as partners see it in a problem's `errors`. */
export interface FieldError {
  field: string;
  code: string;
  message: string;
}

export abstract class DomainError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** No such thing, or another tenant's: the two are indistinguishable by design. */
export class NotFoundError extends DomainError {
  constructor(readonly what: string) {
    super('not_found', `No such ${what}.`);
  }
}

/** Fields that break the request's rules, each with its own code. */
export class ValidationError extends DomainError {
  constructor(
    readonly errors: FieldError[],
    code = 'validation_failed',
    message = 'One or more fields are invalid.',
  ) {
    super(code, message);
  }
}

/** The caller may not do this at all (its tier lacks the feature), whatever it sends. */
export class ForbiddenError extends DomainError {}

/** The request is well-formed but clashes with the state of things (an Idempotency-Key in flight). */
export class ConflictError extends DomainError {}

/** The request is well-formed but cannot be carried out (a reused Idempotency-Key with another body). */
export class UnprocessableError extends DomainError {}

/** The credentials presented are not good (a bad or expired sign-in token); presenting others may work. */
export class UnauthenticatedError extends DomainError {}

/** A service this request depends on did not answer; the same request may succeed later. */
export class UnavailableError extends DomainError {
  constructor(
    code: string,
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(code, message);
  }
}
