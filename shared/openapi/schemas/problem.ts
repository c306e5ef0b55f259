/** RFC 9457 problem details, as shared/http/problem.ts (and the local gateway) write them. */
import * as z from 'zod';

export const fieldErrorSchema = z
  .strictObject({
    field: z.string().meta({ description: 'The field, e.g. `voice_text`, `items[3].video_url` or `(body)`.' }),
    code: z.string().meta({ description: 'Stable code to branch on, e.g. `required`, `too_short`, `unknown_field`.' }),
    message: z.string(),
  })
  .meta({ id: 'FieldError', description: 'One bad field of a request.' });

export const problemSchema = z
  .strictObject({
    type: z.url().meta({ example: 'https://aiprod.dev/problems/validation_failed' }),
    title: z.string(),
    status: z.int().min(400).max(599),
    code: z.string().meta({ description: 'Stable code to branch on; each response lists the codes it can carry.' }),
    detail: z.string().optional(),
    instance: z.string().optional().meta({ description: 'The request path.' }),
    errors: z.array(fieldErrorSchema).optional().meta({ description: 'One entry per bad field (422).' }),
  })
  .meta({
    id: 'Problem',
    description: 'RFC 9457 problem details (`application/problem+json`).',
    example: {
      type: 'https://aiprod.dev/problems/validation_failed',
      title: 'Validation failed',
      status: 422,
      code: 'validation_failed',
      detail: 'One or more fields are invalid.',
      instance: '/pipeline/run',
      errors: [{ field: 'voice_text', code: 'too_short', message: 'voice_text must be at least 5 characters.' }],
    },
  });

export type ProblemBody = z.infer<typeof problemSchema>;
