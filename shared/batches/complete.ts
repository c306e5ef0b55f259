/** A batch ends once: when whoever ends its last job finds none of them left to run. */
import type { Knex } from 'knex';
import { enqueue, type OutboxMessage } from '../events/outbox';
import { JOB_RESULTS, type BatchResultMessage } from '../jobs/topics';

/**
 * Marks the batch ended if none of its jobs waits or runs, and writes its `batch.completed`
 * message, in the caller's transaction. The caller holds the tenant's queue lock, so two last
 * jobs ending at once cannot both miss each other's end.
 */
export async function completeBatchIfDone(trx: Knex.Transaction, batchId: string): Promise<OutboxMessage | null> {
  const rows: { id: string; tenant_id: string }[] = (
    await trx.raw(
      `UPDATE batches b SET completed_at = now()
       WHERE b.id = ? AND b.completed_at IS NULL
         AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.batch_id = b.id AND j.status IN ('PENDING', 'PROCESSING'))
       RETURNING b.id, b.tenant_id`,
      [batchId],
    )
  ).rows;
  const ended = rows[0];
  if (!ended) return null;
  const message: BatchResultMessage = { type: 'batch.completed', batch_id: ended.id, tenant_id: ended.tenant_id };
  return enqueue(trx, JOB_RESULTS, message, { tenant_id: ended.tenant_id, type: message.type });
}
