/**
 * The `maintenance` tick: heals what redelivery alone cannot, then applies retention
 * (maintenance/retention.ts). Runs every minute; each step is a set-based statement, safe to run
 * twice at once. Each tick logs one `sweep` line: what every step did, and how long it took.
 */
import type { Knex } from 'knex';
import { db } from '../db';
import { publishCommitted, republishDue, WRITER_GRACE_SECONDS } from '../events/outbox';
import { logger } from '../log';
import { applyRetention, type RetentionReport } from '../maintenance/retention';
import { transport } from '../platform';
import { dispatchDueDeliveries } from '../webhooks/deliveries';
import { handOffTurns, lockTenantQueue, MAX_ATTEMPTS } from './lease';
import { announce, completeJob } from './complete';
import { PIPELINE_JOBS } from './topics';

/** How long past its lease a job may sit before the sweeper steps in (Pub/Sub usually wins first). */
const LEASE_GRACE_SECONDS = 30;
/** How long a job may wait, its tenant having a free slot, before the sweeper gives it a turn again. */
const STALLED_SECONDS = 60;

export interface SweepReport {
  requeued: number;
  abandoned: number;
  republished: number;
  /** Webhook deliveries whose next attempt came due, sent to webhook-deliverer. */
  deliveries: number;
  /** Turns given again to tenants whose jobs waited with a slot free (a turn lost, a tier raised). */
  turns: number;
  retention: RetentionReport;
}

/**
 * A turn is lost when its message is dead-lettered, or when a failed attempt's job waits again
 * and the redelivery never comes; a raised tier adds slots nobody fills. Tenants with a job
 * waiting that long get a turn for each free slot, under their queue lock.
 */
async function restoreTurns(k: Knex): Promise<number> {
  const tenants: { tenant_id: string }[] = (
    await k.raw(
      `SELECT DISTINCT tenant_id FROM jobs
       WHERE status = 'PENDING' AND attempts < ? AND updated_at < now() - make_interval(secs => ?)`,
      [MAX_ATTEMPTS, STALLED_SECONDS],
    )
  ).rows;
  let turns = 0;
  for (const { tenant_id: tenantId } of tenants) {
    const handed = await k.transaction(async (trx) => {
      await lockTenantQueue(trx, tenantId);
      return handOffTurns(trx, tenantId);
    });
    await announce(k, handed.messages);
    turns += handed.turns;
  }
  return turns;
}

export async function sweep(k: Knex): Promise<SweepReport> {
  const started = Date.now();
  // A worker died holding the lease: put the job back and announce it again, in one statement.
  const requeuedRows: { id: string; tenant_id: string; outbox_id: string }[] = (
    await k.raw(
      `WITH requeued AS (
         UPDATE jobs SET status = 'PENDING', stage = 'queued', lease_owner = NULL, lease_expires_at = NULL,
                         updated_at = now()
         WHERE status = 'PROCESSING' AND attempts < ? AND lease_expires_at < now() - make_interval(secs => ?)
         RETURNING id, tenant_id)
       INSERT INTO outbox (topic, payload, attributes, next_attempt_at)
       SELECT ?, jsonb_build_object('job_id', id), jsonb_build_object('tenant_id', tenant_id, 'requeued', 'true'),
              now() + make_interval(secs => ?)
       FROM requeued
       RETURNING id AS outbox_id, payload->>'job_id' AS id, attributes->>'tenant_id' AS tenant_id`,
      [MAX_ATTEMPTS, LEASE_GRACE_SECONDS, PIPELINE_JOBS, WRITER_GRACE_SECONDS],
    )
  ).rows;
  const requeued = requeuedRows.length;
  if (requeued) {
    await publishCommitted(
      k,
      transport(),
      requeuedRows.map((r) => ({
        id: Number(r.outbox_id),
        topic: PIPELINE_JOBS,
        payload: { job_id: r.id },
        attributes: { tenant_id: r.tenant_id, requeued: 'true' },
      })),
    );
  }

  // Out of attempts: the job ends FAILED with a reason rather than never.
  const exhausted: { id: string; tenant_id: string }[] = await k('jobs')
    .whereIn('status', ['PENDING', 'PROCESSING'])
    .where('attempts', '>=', MAX_ATTEMPTS)
    // A live worker late on one renewal is not failed under it: the same grace as for requeueing.
    .whereRaw('(lease_expires_at IS NULL OR lease_expires_at < now() - make_interval(secs => ?))', [
      LEASE_GRACE_SECONDS,
    ])
    .select('id', 'tenant_id');
  let abandoned = 0;
  for (const job of exhausted) {
    const done = await completeJob(k, job, null, {
      status: 'FAILED',
      code: 'attempts_exhausted',
      message: `The job was attempted ${MAX_ATTEMPTS} times without finishing.`,
    });
    if (done) abandoned++;
  }

  const turns = await restoreTurns(k);
  const deliveries = await dispatchDueDeliveries(k, transport());
  const republished = await republishDue(k, transport());
  const retention = await applyRetention(k);
  const report = { requeued, abandoned, republished, deliveries, turns, retention };
  logger().info('sweep', { event: 'maintenance.sweep', ...report, durationMs: Date.now() - started });
  return report;
}

/** The sweeper function's handler: the tick's payload says nothing the sweep needs. */
export async function onMaintenanceTick(): Promise<void> {
  await sweep(db());
}
