/**
 * The events partners receive: `{type, timestamp, data}`, as Standard Webhooks suggests, under
 * 20 KB. Each has an id, the `webhook-id` header, that stays the same on every attempt and every
 * redelivery of the message it came from, so a receiver can drop duplicates by it.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { batchView } from '../batches/views';
import { statusView, type JobStatusRow } from '../jobs/views';

export const JOB_EVENT_TYPES = ['job.completed', 'job.failed', 'job.cancelled'] as const;
export type JobEventType = (typeof JOB_EVENT_TYPES)[number];
export const TEST_EVENT_TYPE = 'webhook.test';

/** A body over this is cut down (the failure message first); partners may rely on the bound. */
export const MAX_BODY_BYTES = 20 * 1024;

/** `evt_` + 32 hex digits derived from the job and the event type: one job ends once, so one event. */
export function jobEventId(type: JobEventType, jobId: string): string {
  return `evt_${createHash('sha256').update(`${type}:${jobId}`).digest('hex').slice(0, 32)}`;
}

/** A test event is its own event every time. */
export const testEventId = (): string => `evt_${randomBytes(16).toString('hex')}`;

const iso = (d: Date | string | null): string => (d ? new Date(d) : new Date()).toISOString();

/** The event a finished job announces: its status view, as GET /pipeline/{id} shows it. */
export function jobEventBody(type: JobEventType, job: JobStatusRow): string {
  const data = statusView(job) as ReturnType<typeof statusView> & { error?: { code: unknown; message: unknown } };
  const envelope = { type, timestamp: iso(job.completed_at), data };
  let body = JSON.stringify(envelope);
  if (Buffer.byteLength(body) > MAX_BODY_BYTES && data.error && typeof data.error.message === 'string') {
    // Only a failure's message is unbounded (metadata is capped at submit); keep its start.
    const over = Buffer.byteLength(body) - MAX_BODY_BYTES;
    data.error = {
      ...data.error,
      message: `${data.error.message.slice(0, Math.max(0, data.error.message.length - over - 64))}...`,
    };
    body = JSON.stringify(envelope);
  }
  if (Buffer.byteLength(body) > MAX_BODY_BYTES) {
    body = JSON.stringify({ ...envelope, data: { ...data, metadata: {} } });
  }
  return body;
}

export const BATCH_EVENT_TYPE = 'batch.completed';

/** `evt_` + 32 hex digits derived from the batch: a batch ends once. */
export function batchEventId(batchId: string): string {
  return `evt_${createHash('sha256').update(`${BATCH_EVENT_TYPE}:${batchId}`).digest('hex').slice(0, 32)}`;
}

/** The event an ended batch announces: its view, as GET /pipeline/batch/{id} shows it (its size is bounded). */
export function batchEventBody(view: ReturnType<typeof batchView>): string {
  return JSON.stringify({ type: BATCH_EVENT_TYPE, timestamp: view.completed_at ?? iso(null), data: view });
}

export function testEventBody(webhookId: string, now = new Date()): string {
  return JSON.stringify({
    type: TEST_EVENT_TYPE,
    timestamp: now.toISOString(),
    data: { webhook_id: webhookId, message: 'A test event sent on request: no job is behind it.' },
  });
}
