/** What the support endpoints answer: shared/support/views.ts builds these. */
import * as z from 'zod';
import { BUG_STATUSES } from '../../support/views';
import { instant, pageOf, uuid } from './common';

export const bugSchema = z
  .strictObject({
    id: uuid(),
    title: z.string(),
    description: z.string(),
    steps: z.array(z.string()),
    environment: z.string().nullable(),
    job_id: uuid().nullable(),
    status: z.enum(BUG_STATUSES).meta({ description: 'Moved by AIPROD support: `open`, `acknowledged`, `resolved`.' }),
    created_at: instant(),
    updated_at: instant(),
  })
  .meta({ id: 'BugReport' });
export type BugViewBody = z.infer<typeof bugSchema>;

export const commentViewSchema = z
  .strictObject({
    id: uuid(),
    author: z
      .enum(['partner', 'operator'])
      .meta({ description: '`partner`: written over the API; `operator`: AIPROD support.' }),
    body: z.string(),
    created_at: instant(),
  })
  .meta({
    id: 'Comment',
    example: {
      id: '3a4b5c6d-7e8f-4a0b-9c1d-2e3f4a5b6c7d',
      author: 'operator',
      body: 'We are on it.',
      created_at: '2025-01-31T10:02:00.000Z',
    },
  });
export type CommentViewBody = z.infer<typeof commentViewSchema>;

export const bugWithCommentsSchema = bugSchema
  .extend({ comments: z.array(commentViewSchema).meta({ description: 'Oldest first.' }) })
  .meta({
    id: 'BugReportWithComments',
    example: {
      id: '7c6b5a49-3827-4f16-a5b4-c3d2e1f0a9b8',
      title: 'Result has no sound',
      description: 'The output of job 5b0e8c1e plays silent.',
      steps: ['Submit the clip', 'Download the result'],
      environment: 'Node 20, fetch',
      job_id: '5b0e8c1e-4c2a-4f6e-9a57-0d3c1f8e2b11',
      status: 'open',
      created_at: '2025-01-31T09:45:00.000Z',
      updated_at: '2025-01-31T09:45:00.000Z',
      comments: [],
    },
  });

export const bugPageSchema = pageOf(bugSchema).meta({ id: 'BugReportPage' });
