/**
 * Ending a job: its outcome and its announcements in one transaction, published after commit:
 * the `job-results` message, the turn handed on to the tenant's next waiting job, and the batch's
 * end when this was its last job. Shared by the job-processor and the sweeper (which fails jobs
 * out of attempts).
 */
import type { Knex } from 'knex';
import { completeBatchIfDone } from '../batches/complete';
import { enqueue, publishCommitted, type OutboxMessage } from '../events/outbox';
import { logger } from '../log';
import { transport } from '../platform';
import { finishJob, handOffTurns, lockTenantQueue, Outcome } from './lease';
import { JOB_RESULTS, JobResultMessage } from './topics';
import type { JobRow } from './views';

/**
 * What follows one of a tenant's jobs leaving its slot, in the caller's transaction (which holds
 * the tenant's queue lock): the next waiting job's turn, and the batch's end if it has one.
 */
export async function afterJobsEnded(
  trx: Knex.Transaction,
  tenantId: string,
  freedSlots: number,
  batchIds: (string | null)[],
): Promise<OutboxMessage[]> {
  const messages: OutboxMessage[] = [];
  if (freedSlots > 0) messages.push(...(await handOffTurns(trx, tenantId)).messages);
  for (const batchId of new Set(batchIds)) {
    if (!batchId) continue;
    const ended = await completeBatchIfDone(trx, batchId);
    if (ended) messages.push(ended);
  }
  return messages;
}

/** Publishes what a committed end wrote; a failure is left to the sweeper, never thrown. */
export async function announce(k: Knex, messages: OutboxMessage[]): Promise<void> {
  if (messages.length > 0) await publishCommitted(k, transport(), messages);
}

/** Finishes a job and announces it on `job-results`; false when the job was no longer ours. */
export async function completeJob(
  k: Knex,
  job: Pick<JobRow, 'id' | 'tenant_id'>,
  owner: string | null,
  outcome: Outcome,
): Promise<boolean> {
  const queued = await k.transaction(async (trx) => {
    await lockTenantQueue(trx, job.tenant_id);
    const finished = await finishJob(trx, job.id, owner, outcome);
    if (!finished) return null;
    const message: JobResultMessage = {
      type: outcome.status === 'COMPLETED' ? 'job.completed' : 'job.failed',
      job_id: job.id,
      tenant_id: job.tenant_id,
      status: outcome.status,
      metadata: finished.metadata ?? {},
      ...(outcome.status === 'FAILED' ? { error: { code: outcome.code, message: outcome.message } } : {}),
    };
    const result = await enqueue(trx, JOB_RESULTS, message, { tenant_id: job.tenant_id, type: message.type });
    return [result, ...(await afterJobsEnded(trx, job.tenant_id, 1, [finished.batch_id]))];
  });
  if (queued === null) return false;
  if (outcome.status === 'FAILED') {
    logger().warn('job failed', { event: 'job.failed', jobId: job.id, tenantId: job.tenant_id, code: outcome.code });
  }
  await announce(k, queued);
  return true;
}
