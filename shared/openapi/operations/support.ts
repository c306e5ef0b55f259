/** The support endpoints. */
import { json, type OperationDoc } from '../operation';
import { bugRequestSchema, bugsQuery, commentRequestSchema } from '../requests';
import { bugPageSchema, bugWithCommentsSchema, commentViewSchema } from '../schemas/support';

const BUG_ID = 'The report id; a report of another tenant is not found, as a missing one.';

export const supportOperations = {
  'support-bug-create': {
    summary: 'File a problem report',
    description: 'Optionally about one of your jobs. AIPROD support moves its status and answers in its comments.',
    tags: ['Support'],
    request: {
      body: {
        schema: bugRequestSchema,
        examples: {
          job: {
            summary: 'About a job',
            value: {
              title: 'Result has no sound',
              description: 'The output of the job plays silent in every player we tried.',
              steps: ['Submit the clip with voice_text', 'Download the result'],
              environment: 'Node 20, fetch',
              job_id: '5b0e8c1e-4c2a-4f6e-9a57-0d3c1f8e2b11',
            },
          },
        },
      },
    },
    responses: {
      201: {
        description: 'Filed, `open`, without comments.',
        content: json(bugWithCommentsSchema),
        headers: { Location: { description: "The report's URL.", schema: { type: 'string' }, required: true } },
      },
    },
    problems: { 422: ['validation_failed'] },
  },
  'support-bugs-list': {
    summary: "The tenant's problem reports",
    description: 'Newest first, of one status if asked, a keyset page at a time.',
    tags: ['Support'],
    request: { query: bugsQuery },
    responses: { 200: { description: 'One page.', content: json(bugPageSchema) } },
    problems: { 422: ['validation_failed'] },
  },
  'support-bug-get': {
    summary: 'A problem report',
    description: 'The report with its status and its comments, oldest first.',
    tags: ['Support'],
    params: { id: BUG_ID },
    responses: { 200: { description: 'The report.', content: json(bugWithCommentsSchema) } },
  },
  'support-bug-comment': {
    summary: 'Comment on a problem report',
    description: 'At most 100 comments of yours per report.',
    tags: ['Support'],
    params: { id: BUG_ID },
    request: {
      body: {
        schema: commentRequestSchema,
        examples: { more: { summary: 'More detail', value: { body: 'It happens with every clip over a minute.' } } },
      },
    },
    responses: { 201: { description: 'The comment.', content: json(commentViewSchema) } },
    problems: { 409: ['comment_limit_reached'], 422: ['validation_failed'] },
  },
} satisfies Record<string, OperationDoc>;
