/**
 * The JSON object a POST carries. The functions-framework has parsed JSON bodies already;
 * anything else is the wrong media type, and JSON that is not an object is not a request.
 */
import type { Request } from 'express';
import { problems } from './problem';

export function jsonBody(req: Request): Record<string, unknown> {
  if (!req.is('application/json')) throw problems.unsupportedMediaType();
  if (req.body === null || typeof req.body !== 'object' || Array.isArray(req.body) || Buffer.isBuffer(req.body)) {
    throw problems.badRequest('invalid_json', 'The body must be a JSON object.');
  }
  return req.body as Record<string, unknown>;
}
