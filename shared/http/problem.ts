/**
 * RFC 9457 problem details. Every error a partner sees is one of these, with a stable `code` to
 * branch on and, for validation failures, one entry per bad field.
 */
import type { Response } from 'express';
import type { FieldError } from '../errors';
import type { ProblemBody } from '../openapi/schemas/problem';

export class HttpProblem extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly title: string,
    readonly detail?: string,
    readonly errors?: FieldError[],
    readonly headers: Record<string, string> = {},
  ) {
    super(detail ?? title);
  }
}

export const problems = {
  badRequest: (code: string, detail: string) => new HttpProblem(400, code, 'Bad request', detail),
  unauthorized: () =>
    new HttpProblem(
      401,
      'unauthorized',
      'Unauthorized',
      'A valid API key is required: Authorization: Bearer sk_live_...',
      undefined,
      {
        'WWW-Authenticate': 'Bearer realm="aiprod"',
      },
    ),
  forbidden: (code: string, detail: string) => new HttpProblem(403, code, 'Forbidden', detail),
  notFound: (what = 'resource') => new HttpProblem(404, 'not_found', 'Not found', `No such ${what}.`),
  conflict: (code: string, detail: string) => new HttpProblem(409, code, 'Conflict', detail),
  tooLarge: (limit: number) =>
    new HttpProblem(413, 'payload_too_large', 'Payload too large', `The request body exceeds ${limit} bytes.`),
  unsupportedMediaType: (detail = 'Send the body as application/json.') =>
    new HttpProblem(415, 'unsupported_media_type', 'Unsupported media type', detail),
  validation: (errors: FieldError[]) =>
    new HttpProblem(422, 'validation_failed', 'Validation failed', 'One or more fields are invalid.', errors),
  unprocessable: (code: string, detail: string) => new HttpProblem(422, code, 'Unprocessable request', detail),
  busy: (detail: string, retryAfterSeconds: number) =>
    new HttpProblem(503, 'service_busy', 'Service busy', detail, undefined, {
      'Retry-After': String(retryAfterSeconds),
    }),
};

export function sendProblem(res: Response, p: HttpProblem, instance?: string): void {
  for (const [name, value] of Object.entries(p.headers)) res.setHeader(name, value);
  res
    .status(p.status)
    .type('application/problem+json')
    .send(
      JSON.stringify({
        type: `https://aiprod.dev/problems/${p.code}`,
        title: p.title,
        status: p.status,
        code: p.code,
        ...(p.detail ? { detail: p.detail } : {}),
        ...(instance ? { instance } : {}),
        ...(p.errors ? { errors: p.errors } : {}),
      } satisfies ProblemBody),
    );
}
