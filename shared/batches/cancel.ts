/** Cancelling a batch: every job of it still waiting or running, at once, and the batch ends CANCELLED. */
import type { Knex } from 'knex';
import { ConflictError } from '../errors';
import { cancelWhere } from '../jobs/cancel';
import { announce } from '../jobs/complete';
import { lockTenantQueue } from '../jobs/lease';
import { batchState, findBatch, type BatchState } from './views';

/**
 * POST /pipeline/batch/{id}/cancel. Cancelling a cancelled batch again changes nothing; a batch
 * whose jobs have all ended cannot be cancelled (409). Another tenant's batch is missing (404).
 */
export async function cancelBatch(k: Knex, tenantId: string, batchId: string): Promise<BatchState> {
  const batch = await findBatch(k, tenantId, batchId);
  if (batch.completed_at && !batch.cancelled_at) {
    throw new ConflictError('batch_not_cancellable', 'Every job of the batch has already ended.');
  }
  const messages = await k.transaction(async (trx) => {
    await lockTenantQueue(trx, tenantId);
    // Marked first: the end of its last job, written below, then reads as a cancelled batch's end.
    const marked = await trx('batches')
      .where({ id: batchId, tenant_id: tenantId })
      .whereNull('completed_at')
      .whereNull('cancelled_at')
      .update({ cancelled_at: trx.fn.now() });
    return marked ? (await cancelWhere(trx, tenantId, { batchId })).messages : [];
  });
  await announce(k, messages);
  const after = await findBatch(k, tenantId, batchId);
  if (!after.cancelled_at)
    throw new ConflictError('batch_not_cancellable', 'Every job of the batch has already ended.');
  return batchState(k, after);
}
