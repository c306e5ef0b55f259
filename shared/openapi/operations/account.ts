/** Uploads, usage and sign-in. */
import { json, type OperationDoc } from '../operation';
import { loginRequestSchema, uploadRequestSchemaDoc, usageQuery } from '../requests';
import { loginTokenSchema, uploadSchema, usageReportSchema } from '../schemas/account';

export const accountOperations = {
  'uploads-create': {
    summary: 'A signed upload URL',
    description:
      "A signed URL to PUT one input file (video or image) straight into storage, of exactly the size declared, and the `storage_uri` a job then takes as its `video_url` or `image_url`. PUT the file with the answer's `headers` before `expires_at`.",
    tags: ['Uploads'],
    request: {
      body: {
        schema: uploadRequestSchemaDoc,
        examples: {
          video: {
            summary: 'A 50 MB MP4',
            value: { filename: 'interview.mp4', content_type: 'video/mp4', size_bytes: 52428800 },
          },
        },
      },
    },
    responses: { 201: { description: 'The signed URL.', content: json(uploadSchema) } },
    problems: { 422: ['validation_failed'] },
  },
  usage: {
    summary: 'Usage and cost',
    description:
      "The tenant's metered calls and their cost per UTC day or per endpoint, and its completed jobs' media seconds per day. A call is counted once its instance has flushed its counts (within `AIPROD_USAGE_FLUSH_SECONDS`).",
    tags: ['Account'],
    request: { query: usageQuery },
    responses: { 200: { description: 'The report.', content: json(usageReportSchema) } },
    problems: { 422: ['validation_failed'] },
  },
  'auth-login': {
    summary: 'Sign in',
    description:
      'Exchanges an Identity Platform ID token of a user mapped to a tenant for an API token of that tenant, valid one hour. Limited to 10 a minute per address.',
    tags: ['Account'],
    request: {
      body: {
        schema: loginRequestSchema,
        examples: { token: { summary: 'An ID token', value: { id_token: 'eyJhbGciOiJSUzI1NiIsImtpZCI6…' } } },
      },
    },
    responses: { 200: { description: 'The API token.', content: json(loginTokenSchema) } },
    problems: {
      401: ['invalid_token', 'token_expired'],
      403: ['unknown_user'],
      422: ['validation_failed'],
      503: ['identity_unavailable', 'service_busy'],
    },
  },
} satisfies Record<string, OperationDoc>;
