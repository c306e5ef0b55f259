/** The `Idempotency-Key` request header of the submit endpoints (jobs/idempotency.ts). */
import type { Request } from 'express';
import { problems } from './problem';

/** What an `Idempotency-Key` may be: 1 to 255 visible ASCII characters. */
export const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

/** The request's key, undefined without one; a malformed one is a 400 `invalid_idempotency_key`. */
export function idempotencyKey(req: Request): string | undefined {
  const key = req.header('idempotency-key');
  if (key !== undefined && !IDEMPOTENCY_KEY.test(key)) {
    throw problems.badRequest('invalid_idempotency_key', 'Idempotency-Key must be 1 to 255 visible ASCII characters.');
  }
  return key;
}
