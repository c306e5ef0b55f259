/** What the batch endpoints answer: shared/batches/views.ts and submit.ts build these. */
import * as z from 'zod';
import type { BatchStatus } from '../../batches/views';
import { JOB_STATUSES } from '../../jobs/listing';
import { instant, metadataView, uuid } from './common';
import { priorityView } from './jobs';

const BATCH_STATUSES = [
  'PENDING',
  'PROCESSING',
  'COMPLETED',
  'PARTIAL_FAILURE',
  'CANCELLED',
] as const satisfies readonly BatchStatus[];

export const batchAcceptedSchema = z
  .strictObject({ batch_id: uuid(), status: z.literal('PENDING'), total: z.int().min(2), priority: priorityView })
  .meta({
    id: 'BatchAccepted',
    example: { batch_id: '0c7d1d0e-8f43-4d6b-a1f2-5d2b8f9e3a40', status: 'PENDING', total: 2, priority: 'low' },
  });
export type BatchAcceptedView = z.infer<typeof batchAcceptedSchema>;

export const batchSchema = z
  .strictObject({
    batch_id: uuid(),
    status: z.enum(BATCH_STATUSES).meta({
      description:
        '`PENDING` (no job started), `PROCESSING`, `COMPLETED` (every job completed), `PARTIAL_FAILURE` (all ended, some failed or were cancelled), `CANCELLED`.',
    }),
    priority: priorityView,
    total: z.int().min(0),
    counts: z
      .strictObject(
        Object.fromEntries(JOB_STATUSES.map((s) => [s, z.int().min(0)])) as Record<
          (typeof JOB_STATUSES)[number],
          z.ZodInt
        >,
      )
      .meta({ description: "The batch's jobs by status." }),
    progress: z.int().min(0).max(100),
    metadata: metadataView,
    created_at: instant(),
    completed_at: instant().nullable(),
    cancelled_at: instant().nullable(),
  })
  .meta({
    id: 'Batch',
    example: {
      batch_id: '0c7d1d0e-8f43-4d6b-a1f2-5d2b8f9e3a40',
      status: 'PROCESSING',
      priority: 'low',
      total: 2,
      counts: { PENDING: 0, PROCESSING: 1, COMPLETED: 1, FAILED: 0, CANCELLED: 0 },
      progress: 70,
      metadata: { campaign: 'spring' },
      created_at: '2025-01-31T09:30:00.000Z',
      completed_at: null,
      cancelled_at: null,
    },
  });
export type BatchView = z.infer<typeof batchSchema>;
