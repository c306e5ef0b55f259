/**
 * result-notifier: a job-results message (a job or a batch ended) fans out to one delivery per
 * active webhook of the tenant subscribed to the event's type. The deliveries and their job-notifications messages are
 * written in one statement and published after it; a redelivered message finds its deliveries
 * there already (unique per webhook and event id) and writes nothing twice.
 */
import type { Knex } from 'knex';
import { batchState, batchView, findBatch } from '../batches/views';
import { config } from '../config';
import { NotFoundError } from '../errors';
import { publishCommitted, WRITER_GRACE_SECONDS } from '../events/outbox';
import type { Transport } from '../events/transport';
import { logger } from '../log';
import { findJobStatus, isFinal } from '../jobs/views';
import { JOB_NOTIFICATIONS } from './deliveries';
import { BATCH_EVENT_TYPE, batchEventBody, batchEventId, jobEventBody, jobEventId, type JobEventType } from './events';

export interface JobEvent {
  type: JobEventType;
  job_id: string;
  tenant_id: string;
}

/** An event to deliver to the tenant's webhooks subscribed to its type. */
interface Fanned {
  tenantId: string;
  type: string;
  eventId: string;
  body: string;
}

/** Writes one delivery per subscribed webhook; the number of messages sent for them (none on a redelivery). */
async function fanOut(k: Knex, transport: Transport, event: Fanned): Promise<number> {
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
        event.eventId,
        event.type,
        event.body,
        firstWait,
        sendNow,
        event.tenantId,
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

/** Writes the deliveries a job's end creates; the number of messages sent for them (none on a redelivery). */
export async function notifyJobEvent(k: Knex, transport: Transport, event: JobEvent): Promise<number> {
  const job = await findJobStatus(k, event.tenant_id, event.job_id);
  if (!job || !isFinal(job.status)) {
    logger().warn('job-results message for no finished job dropped', { jobId: event.job_id, type: event.type });
    return 0;
  }
  return fanOut(k, transport, {
    tenantId: event.tenant_id,
    type: event.type,
    eventId: jobEventId(event.type, event.job_id),
    body: jobEventBody(event.type, job),
  });
}

/** Writes the deliveries a batch's end creates, like notifyJobEvent. */
export async function notifyBatchEvent(
  k: Knex,
  transport: Transport,
  event: { batch_id: string; tenant_id: string },
): Promise<number> {
  const batch = await findBatch(k, event.tenant_id, event.batch_id).catch((err) => {
    if (err instanceof NotFoundError) return null;
    throw err;
  });
  if (!batch?.completed_at) {
    logger().warn('job-results message for no ended batch dropped', { batchId: event.batch_id });
    return 0;
  }
  return fanOut(k, transport, {
    tenantId: event.tenant_id,
    type: BATCH_EVENT_TYPE,
    eventId: batchEventId(batch.id),
    body: batchEventBody(batchView(await batchState(k, batch))),
  });
}
