/**
 * Cancelling jobs: a waiting job never runs; a running one loses its lease at once, and its worker,
 * renewing the lease a few seconds later (and once more before it stores the output), finds it
 * gone, stops and removes its scratch files; its writes name the lease holder, so the job's row
 * keeps no trace of that run. Each cancelled job is announced as `job.cancelled`; a running one's
 * slot goes to the tenant's next waiting job.
 */
import type { Knex } from 'knex';
import { ConflictError, NotFoundError } from '../errors';
import { enqueueMany, type OutboxMessage } from '../events/outbox';
import { transport } from '../platform';
import { afterJobsEnded, announce } from './complete';
import { lockTenantQueue } from './lease';
import type { JobMetadata } from './request';
import { JOB_RESULTS, type JobResultMessage } from './topics';
import { findJobStatus, type JobStatusRow } from './views';

interface CancelledRow {
  id: string;
  was: 'PENDING' | 'PROCESSING';
  batch_id: string | null;
  metadata: JobMetadata;
}

/**
 * Cancels the tenant's jobs that `scope` selects among those still waiting or running, in the
 * caller's transaction (which holds the tenant's queue lock), and writes every announcement.
 */
export async function cancelWhere(
  trx: Knex.Transaction,
  tenantId: string,
  scope: { jobId: string } | { batchId: string },
): Promise<{ cancelled: number; messages: OutboxMessage[] }> {
  const [column, value] = 'jobId' in scope ? ['id', scope.jobId] : ['batch_id', scope.batchId];
  const rows: CancelledRow[] = (
    await trx.raw(
      `WITH target AS (
         SELECT id, status FROM jobs
         WHERE tenant_id = ? AND ?? = ? AND status IN ('PENDING', 'PROCESSING')
         FOR UPDATE)
       UPDATE jobs j SET status = 'CANCELLED', cancelled_at = now(), completed_at = now(), updated_at = now(),
                         lease_owner = NULL, lease_expires_at = NULL
       FROM target WHERE j.id = target.id
       RETURNING j.id, target.status AS was, j.batch_id, j.metadata`,
      [tenantId, column, value],
    )
  ).rows;
  const messages = await enqueueMany(
    trx,
    transport(),
    JOB_RESULTS,
    rows.map((row) => {
      const message: JobResultMessage = {
        type: 'job.cancelled',
        job_id: row.id,
        tenant_id: tenantId,
        status: 'CANCELLED',
        metadata: row.metadata ?? {},
      };
      return { payload: message, attributes: { tenant_id: tenantId, type: message.type } };
    }),
  );
  const freed = rows.filter((r) => r.was === 'PROCESSING').length;
  messages.push(
    ...(await afterJobsEnded(
      trx,
      tenantId,
      freed,
      rows.map((r) => r.batch_id),
    )),
  );
  return { cancelled: rows.length, messages };
}

/**
 * POST /pipeline/{id}/cancel. Cancelling a cancelled job again changes nothing; a job that already
 * completed or failed cannot be cancelled (409). Another tenant's job is missing (404).
 */
export async function cancelJob(k: Knex, tenantId: string, jobId: string): Promise<JobStatusRow> {
  const before = await findJobStatus(k, tenantId, jobId);
  if (!before) throw new NotFoundError('job');
  const messages = await k.transaction(async (trx) => {
    await lockTenantQueue(trx, tenantId);
    return (await cancelWhere(trx, tenantId, { jobId })).messages;
  });
  await announce(k, messages);
  const after = (await findJobStatus(k, tenantId, jobId))!;
  if (after.status === 'COMPLETED' || after.status === 'FAILED') {
    throw new ConflictError('job_not_cancellable', `The job has already ended: it is ${after.status}.`);
  }
  return after;
}
