/**
 * result-notifier: a job-results message fans out to one delivery per active webhook of the
 * tenant subscribed to the event's type. The deliveries and their job-notifications messages are
 * written in one statement and published after it; a redelivered message finds its deliveries
 * there already (unique per webhook and event id) and writes nothing twice.
 */
import type { Knex } from 'knex';
import { config } from '../config';
import { publishCommitted, WRITER_GRACE_SECONDS } from '../events/outbox';
import type { Transport } from '../events/transport';
import { logger } from '../log';
import { findJobStatus, isFinal } from '../jobs/views';
import { JOB_NOTIFICATIONS } from './deliveries';
import { jobEventBody, jobEventId, type JobEventType } from './events';

export interface JobEvent {
  type: JobEventType;
  job_id: string;
  tenant_id: string;
}

/** Writes the deliveries a job's end creates; the number of messages sent for them (none on a redelivery). */
export async function notifyJobEvent(k: Knex, transport: Transport, event: JobEvent): Promise<number> {
  const job = await findJobStatus(k, event.tenant_id, event.job_id);
  if (!job || !isFinal(job.status)) {
    logger().warn('job-results message for no finished job dropped', { jobId: event.job_id, type: event.type });
    return 0;
  }
  // The first attempt is due after the schedule's first wait (normally at once): sent now if so,
  // else by the maintenance tick when it comes due.
  const firstWait = config().AIPROD_WEBHOOK_RETRY_SECONDS[0] ?? 0;
  const sendNow = firstWait === 0;
  const rows: { id: string; payload: { delivery_id: string }; attributes: Record<string, string> }[] = (
    await k.raw(
      `WITH inserted AS (
         INSERT INTO webhook_deliveries (id, webhook_id, tenant_id, event_id, event_type, body, next_attempt_at, dispatched_at)
         SELECT gen_random_uuid(), w.id, w.tenant_id, ?, ?, ?, now() + make_interval(secs => ?),
                CASE WHEN ?::boolean THEN now() END
         FROM webhooks w
         WHERE w.tenant_id = ? AND w.status = 'active' AND ? = ANY(w.events)
         ON CONFLICT (webhook_id, event_id) DO NOTHING
         RETURNING id, tenant_id)
       INSERT INTO outbox (topic, payload, attributes, next_attempt_at)
       SELECT ?, jsonb_build_object('delivery_id', id), jsonb_build_object('tenant_id', tenant_id::text),
              now() + make_interval(secs => ?)
       FROM inserted WHERE ?::boolean
       RETURNING id, payload, attributes`,
      [
        jobEventId(event.type, event.job_id),
        event.type,
        jobEventBody(event.type, job),
        firstWait,
        sendNow,
        event.tenant_id,
        event.type,
        JOB_NOTIFICATIONS,
        WRITER_GRACE_SECONDS,
        sendNow,
      ],
    )
  ).rows;
  if (rows.length === 0) return 0;
  await publishCommitted(
    k,
    transport,
    rows.map((r) => ({ id: Number(r.id), topic: JOB_NOTIFICATIONS, payload: r.payload, attributes: r.attributes })),
  );
  return rows.length;
}
