/** The batch endpoints. */
import { json, type OperationDoc } from '../operation';
import { batchRequestSchema, idempotencyHeaders } from '../requests';
import { SUBMIT_REFUSALS } from './jobs';
import { batchAcceptedSchema, batchSchema } from '../schemas/batches';

const BATCH_ID = 'The batch id (`batch_id`); a batch of another tenant is not found, as a missing one.';

export const batchOperations = {
  'pipeline-batch-create': {
    summary: 'Submit a batch',
    description:
      "Every item is checked first: one 422 lists every bad item's fields as `items[<index>].<field>`, and nothing is written. Then the batch, its jobs and their queue messages are written in one transaction. With an `Idempotency-Key`, a retry returns the same batch.",
    tags: ['Batches'],
    request: {
      headers: idempotencyHeaders,
      body: {
        schema: batchRequestSchema,
        examples: {
          two: {
            summary: 'Two spots, at low priority',
            value: {
              priority: 'low',
              metadata: { campaign: 'spring' },
              items: [
                { video_url: 'https://cdn.example.com/a.mp4', voice_text: 'First spot.', metadata: { sku: 'A' } },
                { video_url: 'https://cdn.example.com/b.mp4', voice_text: 'Second spot.' },
              ],
            },
          },
        },
      },
    },
    responses: {
      202: {
        description: 'Accepted and queued.',
        content: json(batchAcceptedSchema),
        headers: { Location: { description: "The batch's status URL.", schema: { type: 'string' }, required: true } },
      },
    },
    problems: {
      400: ['invalid_idempotency_key'],
      409: ['idempotency_key_in_flight'],
      422: [...SUBMIT_REFUSALS, 'idempotency_key_reused'],
    },
  },
  'pipeline-batch-status': {
    summary: "A batch's status",
    description: "The batch's jobs counted by status, and its progress.",
    tags: ['Batches'],
    params: { id: BATCH_ID },
    responses: { 200: { description: "The batch's status.", content: json(batchSchema) } },
  },
  'pipeline-batch-results': {
    summary: "A batch's results",
    description:
      'A ZIP streamed as it is built: `items/0000.json`, … (per item: index, job id, status, metadata, error, and for a completed job its signed `url` and media facts as `GET /pipeline/{id}/result` gives them), then `manifest.json` (the batch and one line per item). Each job shows as it is now.',
    tags: ['Batches'],
    params: { id: BATCH_ID },
    responses: {
      200: {
        description: 'The archive.',
        content: { 'application/zip': { schema: { type: 'string', contentMediaType: 'application/zip' } } },
        headers: {
          'Content-Disposition': {
            description: '`attachment; filename="batch-<id>.zip"`',
            schema: { type: 'string' },
            required: true,
          },
        },
      },
    },
  },
  'pipeline-batch-cancel': {
    summary: 'Cancel a batch',
    description:
      'Cancels every job of the batch still waiting or running (each announced as `job.cancelled`), keeps those that ended; the batch ends CANCELLED.',
    tags: ['Batches'],
    params: { id: BATCH_ID },
    responses: { 200: { description: 'The batch, now CANCELLED.', content: json(batchSchema) } },
    problems: { 409: ['batch_not_cancellable'] },
  },
} satisfies Record<string, OperationDoc>;
