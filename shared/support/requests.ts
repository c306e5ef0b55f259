/**
 * The support endpoints' bodies and query string, checked with zod: one field error per bad
 * field, with the codes partners branch on (`required`, `too_short`, `too_long`, `invalid_type`,
 * `invalid_characters`, `invalid_format`, `unsupported_value`, `unknown_field`, and the page
 * parameters' `out_of_range` and `invalid_cursor`).
 */
import * as z from 'zod';
import { ValidationError } from '../errors';
import { pageParams } from '../validation/page-params';
import { lazySchema } from '../validation/lazy-schema';
import { fieldErrors } from '../validation/zod-errors';
import { BUG_STATUSES } from './views';

export const BUG_LIMITS = {
  title: 200,
  description: 10_000,
  steps: 50,
  step: 1000,
  environment: 1000,
  comment: 10_000,
} as const;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// One line: no control character at all. Text: line breaks and tabs allowed, nothing else below 0x20 or DEL.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;
// eslint-disable-next-line no-control-regex
const CONTROL_IN_TEXT = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;

function text(field: string, max: number, control: RegExp) {
  return z
    .string({ error: `${field} must be a string.` })
    .trim()
    .min(1, `${field} must not be empty.`)
    .max(max, `${field} must be at most ${max} characters.`)
    .superRefine((value, ctx) => {
      if (control.test(value))
        ctx.addIssue({
          code: 'custom',
          message: `${field} must not contain control characters.`,
          params: { code: 'invalid_characters' },
        });
    });
}

export const createBugSchema = lazySchema(() =>
  z
    .object({
      title: text('title', BUG_LIMITS.title, CONTROL),
      description: text('description', BUG_LIMITS.description, CONTROL_IN_TEXT),
      steps: z
        .array(text('each step', BUG_LIMITS.step, CONTROL_IN_TEXT), { error: 'steps must be an array of strings.' })
        .max(BUG_LIMITS.steps, `steps must list at most ${BUG_LIMITS.steps} steps.`)
        .nullish()
        .transform((v) => v ?? []),
      environment: text('environment', BUG_LIMITS.environment, CONTROL_IN_TEXT)
        .nullish()
        .transform((v) => v ?? null),
      job_id: z
        .string({ error: 'job_id must be a string.' })
        .regex(UUID, 'job_id must be a job id (a UUID).')
        .transform((v) => v.toLowerCase())
        .nullish()
        .transform((v) => v ?? null),
    })
    .strict(),
);
export type CreateBugRequest = z.infer<ReturnType<typeof createBugSchema>>;

export const commentSchema = lazySchema(() =>
  z.object({ body: text('body', BUG_LIMITS.comment, CONTROL_IN_TEXT) }).strict(),
);

export const listBugsSchema = lazySchema(() =>
  z
    .object({
      ...pageParams(),
      status: z.enum(BUG_STATUSES, { error: `status must be one of ${BUG_STATUSES.join(', ')}.` }).optional(),
    })
    .strict(),
);
export type ListBugsQuery = z.infer<ReturnType<typeof listBugsSchema>>;

function parse<S extends z.ZodType>(schema: S, input: unknown): z.infer<S> {
  const parsed = schema.safeParse(input);
  if (!parsed.success) throw new ValidationError(fieldErrors(parsed.error, input));
  return parsed.data;
}

/** POST /support/bugs's body, or a ValidationError. */
export const parseCreateBug = (body: unknown): CreateBugRequest => parse(createBugSchema(), body);

/** POST /support/bugs/{id}/comments's body: the comment's text, or a ValidationError. */
export const parseComment = (body: unknown): string => parse(commentSchema(), body).body;

/** GET /support/bugs's query string, or a ValidationError. */
export const parseListBugs = (query: unknown): ListBugsQuery => parse(listBugsSchema(), { ...(query as object) });
