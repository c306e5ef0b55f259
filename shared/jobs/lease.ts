/**
 * A job is run by whoever holds its lease. Claiming is one conditional UPDATE, so a redelivered
 * message finds the job taken (and does nothing) unless the holder's lease has lapsed, in which
 * case it takes the job over; every later write names the holder, so a worker that lost its lease
 * can no longer touch the job.
 */
import type { Knex } from 'knex';
import type { JobMetadata } from './request';
import type { JobStage } from './stages';
import type { JobRow, StoredResult } from './views';

/** After this many claims a job is failed rather than tried again. */
export const MAX_ATTEMPTS = 5;

export async function claimJob(k: Knex, jobId: string, owner: string, leaseSeconds: number): Promise<JobRow | null> {
  const rows: JobRow[] = (
    await k.raw(
      `UPDATE jobs SET status = 'PROCESSING', stage = 'fetching', lease_owner = ?,
              lease_expires_at = now() + make_interval(secs => ?), attempts = attempts + 1,
              started_at = coalesce(started_at, now()), updated_at = now()
       WHERE id = ? AND attempts < ?
         AND (status = 'PENDING' OR (status = 'PROCESSING' AND lease_expires_at < now()))
       RETURNING *`,
      [owner, leaseSeconds, jobId, MAX_ATTEMPTS],
    )
  ).rows;
  return rows[0] ?? null;
}

/** Extends the lease; false when it was lost (taken over or the job was finished elsewhere). */
export async function renewLease(k: Knex, jobId: string, owner: string, leaseSeconds: number): Promise<boolean> {
  const n = await k('jobs')
    .where({ id: jobId, lease_owner: owner, status: 'PROCESSING' })
    .update({ lease_expires_at: k.raw('now() + make_interval(secs => ?)', [leaseSeconds]), updated_at: k.fn.now() });
  return n > 0;
}

/** Lets a redelivery take the job over at once, after an unexpected (retryable) failure. */
export async function releaseLease(k: Knex, jobId: string, owner: string): Promise<void> {
  await k('jobs')
    .where({ id: jobId, lease_owner: owner, status: 'PROCESSING' })
    .update({ lease_expires_at: k.fn.now() });
}

/** Writes the job's progress and stage (either or both), if `owner` still holds it. */
export async function recordProgress(
  k: Knex,
  jobId: string,
  owner: string,
  at: { percent?: number; stage?: JobStage },
): Promise<void> {
  await k('jobs')
    .where({ id: jobId, lease_owner: owner, status: 'PROCESSING' })
    .update({
      ...(at.percent === undefined ? {} : { progress: Math.max(0, Math.min(99, Math.floor(at.percent))) }),
      ...(at.stage === undefined ? {} : { stage: at.stage }),
      updated_at: k.fn.now(),
    });
}

export type Outcome =
  { status: 'COMPLETED'; result: StoredResult } | { status: 'FAILED'; code: string; message: string };

/**
 * Writes the outcome, if `owner` (null: whoever, for the sweeper) still holds the job, in the
 * transaction `trx`; the caller adds its outbox row to the same transaction. The job's metadata
 * (for the announcement) when written, null when lost. A failed job keeps the stage it failed in.
 */
export async function finishJob(
  trx: Knex.Transaction,
  jobId: string,
  owner: string | null,
  outcome: Outcome,
): Promise<{ metadata: JobMetadata } | null> {
  const q = trx('jobs').where({ id: jobId }).whereIn('status', ['PENDING', 'PROCESSING']);
  if (owner) q.where({ lease_owner: owner });
  const rows: { metadata: JobMetadata }[] = await q.update(
    {
      status: outcome.status,
      completed_at: trx.fn.now(),
      updated_at: trx.fn.now(),
      lease_owner: null,
      lease_expires_at: null,
      ...(outcome.status === 'COMPLETED'
        ? { result: JSON.stringify(outcome.result), progress: 100, stage: 'done' }
        : { error_code: outcome.code, error_message: outcome.message.slice(0, 2000) }),
    },
    ['metadata'],
  );
  return rows[0] ?? null;
}
