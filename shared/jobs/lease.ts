/**
 * A job is run by whoever holds its lease. Claiming is a conditional UPDATE under the tenant's
 * queue lock, so a redelivered message finds the job taken (and claims nothing more than the
 * tenant's tier allows) unless the holder's lease has lapsed, in which case it takes the job over;
 * every later write names the holder, so a worker that lost its lease (or whose job was
 * cancelled) can no longer touch the job.
 */
import type { Knex } from 'knex';
import type { Tier } from '../auth/api-keys';
import { enqueueMany, type OutboxMessage } from '../events/outbox';
import { transport } from '../platform';
import { JOB_LIMITS } from './limits';
import type { JobMetadata } from './request';
import type { JobStage } from './stages';
import { PIPELINE_JOBS, type PipelineJobMessage } from './topics';
import type { JobRow, StoredResult } from './views';

/** After this many claims a job is failed rather than tried again. */
export const MAX_ATTEMPTS = 5;

/** The advisory lock namespace of tenants' queues (the key within it is the tenant id's hash). */
const TENANT_QUEUE_LOCK = 7301;

const SLOTS_BY_TIER = Object.fromEntries(Object.entries(JOB_LIMITS).map(([tier, l]) => [tier, l.concurrentJobs]));

/**
 * Serializes, per tenant, whatever decides which of its jobs run: claims, and the ends that free
 * a slot and hand the turn on. Without it a claim could count a slot as taken while the job in it
 * ends without seeing the claim's job waiting, and that job would wait for nobody.
 */
export async function lockTenantQueue(trx: Knex.Transaction, tenantId: string): Promise<void> {
  await trx.raw('SELECT pg_advisory_xact_lock(?, hashtext(?))', [TENANT_QUEUE_LOCK, tenantId]);
}

/** A tenant's waiting jobs run highest priority first, then in the order they were submitted (a batch's in item order). */
const WAITING_ORDER = 'priority DESC, created_at, batch_index, id';

const CLAIMED = `status = 'PROCESSING', stage = 'fetching', lease_owner = :owner,
  lease_expires_at = now() + make_interval(secs => :lease), attempts = attempts + 1,
  started_at = coalesce(started_at, now()), updated_at = now()`;
/** True while the tenant runs fewer jobs than its tier allows (a lapsed lease does not count). */
const HAS_SLOT = `(SELECT count(*) FROM jobs WHERE tenant_id = :tenant AND status = 'PROCESSING'
  AND lease_expires_at >= now()) < :slots`;

/**
 * Claims a job of the tenant whose job `jobId` is, if the tenant has a free slot: that job itself
 * when its holder's lease lapsed (it goes on here), else the tenant's first waiting job in
 * WAITING_ORDER, which need not be `jobId`: a pipeline-jobs message is a turn of its tenant, not
 * a ticket for one job. Null when the tenant runs all its tier allows (the job waits
 * without spending an attempt; the end of a running one hands the turn on, see `handOffTurn`) or
 * has nothing to run.
 */
export async function claimJob(k: Knex, jobId: string, owner: string, leaseSeconds: number): Promise<JobRow | null> {
  return k.transaction(async (trx) => {
    const target: { tenant_id: string; tier: Tier } | undefined = await trx('jobs as j')
      .join('tenants as t', 't.id', 'j.tenant_id')
      .where('j.id', jobId)
      .first('j.tenant_id', 't.tier');
    if (!target) return null;
    await lockTenantQueue(trx, target.tenant_id);
    const bindings = {
      owner,
      lease: leaseSeconds,
      tenant: target.tenant_id,
      slots: JOB_LIMITS[target.tier].concurrentJobs,
      job: jobId,
      max: MAX_ATTEMPTS,
    };
    const takenOver: JobRow[] = (
      await trx.raw(
        `UPDATE jobs SET ${CLAIMED}
         WHERE id = :job AND status = 'PROCESSING' AND lease_expires_at < now() AND attempts < :max AND ${HAS_SLOT}
         RETURNING *`,
        bindings,
      )
    ).rows;
    if (takenOver[0]) return takenOver[0];
    const next: JobRow[] = (
      await trx.raw(
        `UPDATE jobs j SET ${CLAIMED}
         FROM (SELECT id FROM jobs WHERE tenant_id = :tenant AND status = 'PENDING' AND attempts < :max
               ORDER BY ${WAITING_ORDER} LIMIT 1 FOR UPDATE) next
         WHERE j.id = next.id AND ${HAS_SLOT}
         RETURNING j.*`,
        bindings,
      )
    ).rows;
    return next[0] ?? null;
  });
}

/**
 * A turn for as many of the tenant's first waiting jobs as it has free slots, written in the
 * caller's transaction, which holds `lockTenantQueue`. Called when a job stops running (ended,
 * cancelled) and by the sweeper: counting the free slots, not the ones just freed, makes up for a
 * turn that was lost (dead-lettered, or its job requeued by a failed attempt) or a tier raised.
 * A turn too many costs one short claim that finds nothing.
 */
export async function handOffTurns(
  trx: Knex.Transaction,
  tenantId: string,
): Promise<{ turns: number; messages: OutboxMessage[] }> {
  const rows: { id: string }[] = (
    await trx.raw(
      `SELECT id FROM jobs
       WHERE tenant_id = :tenant AND status = 'PENDING' AND attempts < :max
       ORDER BY ${WAITING_ORDER}
       LIMIT greatest(0, CAST((SELECT CAST(:limits AS jsonb) ->> tier FROM tenants WHERE id = :tenant) AS int)
                         - (SELECT count(*) FROM jobs WHERE tenant_id = :tenant AND status = 'PROCESSING'
                            AND lease_expires_at >= now()))`,
      { tenant: tenantId, max: MAX_ATTEMPTS, limits: JSON.stringify(SLOTS_BY_TIER) },
    )
  ).rows;
  const messages = await enqueueMany(
    trx,
    transport(),
    PIPELINE_JOBS,
    rows.map(({ id }) => {
      const message: PipelineJobMessage = { job_id: id };
      return { payload: message, attributes: { tenant_id: tenantId, turn: 'handed-off' } };
    }),
  );
  // On the local bus the turns travel in this transaction and nothing is left to publish.
  return { turns: rows.length, messages };
}

/** Extends the lease; false when it was lost (taken over or the job was finished elsewhere). */
export async function renewLease(k: Knex, jobId: string, owner: string, leaseSeconds: number): Promise<boolean> {
  const n = await k('jobs')
    .where({ id: jobId, lease_owner: owner, status: 'PROCESSING' })
    .update({ lease_expires_at: k.raw('now() + make_interval(secs => ?)', [leaseSeconds]), updated_at: k.fn.now() });
  return n > 0;
}

/**
 * After an unexpected (retryable) failure: the job waits again, its slot free, for the redelivery
 * of the message, which is its tenant's turn, to claim it or a better one. `refundAttempt` gives
 * back the attempt its claim counted, for a run stopped rather than failed. False when `owner` no
 * longer held the job.
 */
export async function requeueJob(
  k: Knex | Knex.Transaction,
  jobId: string,
  owner: string,
  opts: { refundAttempt?: boolean } = {},
): Promise<boolean> {
  const n = await k('jobs')
    .where({ id: jobId, lease_owner: owner, status: 'PROCESSING' })
    .update({
      status: 'PENDING',
      stage: 'queued',
      lease_owner: null,
      lease_expires_at: null,
      ...(opts.refundAttempt ? { attempts: k.raw('greatest(attempts - 1, 0)') } : {}),
      updated_at: k.fn.now(),
    });
  return n > 0;
}

/**
 * Gives a running job back when its instance shuts down, in one transaction under the tenant's
 * queue lock: PENDING again, its lease cleared, the attempt of this claim not spent (the run was
 * stopped, it did not fail), and its tenant handed a turn, so that another instance claims it at
 * once instead of after the lease lapses. The turns to publish after commit; null when `owner` no
 * longer held the job.
 */
export async function releaseJob(
  k: Knex,
  job: Pick<JobRow, 'id' | 'tenant_id'>,
  owner: string,
): Promise<OutboxMessage[] | null> {
  return k.transaction(async (trx) => {
    await lockTenantQueue(trx, job.tenant_id);
    if (!(await requeueJob(trx, job.id, owner, { refundAttempt: true }))) return null;
    return (await handOffTurns(trx, job.tenant_id)).messages;
  });
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

/** What the end of a job leaves for its announcements. */
export interface Finished {
  metadata: JobMetadata;
  batch_id: string | null;
}

/**
 * Writes the outcome, if `owner` (null: whoever, for the sweeper) still holds the job, in the
 * transaction `trx`; the caller adds its outbox rows to the same transaction. The job's metadata
 * and batch when written, null when lost. A failed job keeps the stage it failed in.
 */
export async function finishJob(
  trx: Knex.Transaction,
  jobId: string,
  owner: string | null,
  outcome: Outcome,
): Promise<Finished | null> {
  const q = trx('jobs').where({ id: jobId }).whereIn('status', ['PENDING', 'PROCESSING']);
  if (owner) q.where({ lease_owner: owner });
  const rows: Finished[] = await q.update(
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
    ['metadata', 'batch_id'],
  );
  return rows[0] ?? null;
}
