/**
 * Ending a job: its outcome and the `job-results` message in one transaction, published after
 * commit. Shared by the job-processor and the sweeper (which fails jobs out of attempts).
 */
import type { Knex } from 'knex';
import { enqueue, publishCommitted } from '../events/outbox';
import { logger } from '../log';
import { transport } from '../platform';
import { finishJob, Outcome } from './lease';
import { JOB_RESULTS, JobResultMessage } from './topics';
import type { JobRow } from './views';

/** Finishes a job and announces it on `job-results`; false when the job was no longer ours. */
export async function completeJob(
  k: Knex,
  job: Pick<JobRow, 'id' | 'tenant_id'>,
  owner: string | null,
  outcome: Outcome,
): Promise<boolean> {
  const queued = await k.transaction(async (trx) => {
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
    return enqueue(trx, JOB_RESULTS, message, { tenant_id: job.tenant_id, type: message.type });
  });
  if (queued === null) return false;
  if (outcome.status === 'FAILED') {
    logger().warn('job failed', { event: 'job.failed', jobId: job.id, tenantId: job.tenant_id, code: outcome.code });
  }
  await publishCommitted(k, transport(), [queued]).catch((err) =>
    logger().warn('publish after commit failed; the sweeper will retry', { jobId: job.id, error: err }),
  );
  return true;
}
