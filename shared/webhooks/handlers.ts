/**
 * The handlers of result-notifier (job-results) and webhook-deliverer (job-notifications): decode
 * the Pub/Sub delivery, then hand over. A malformed message is acknowledged (it can never succeed);
 * a thrown error (the database failed us) is retried by Pub/Sub.
 */
import type { CloudEvent } from '@google-cloud/functions-framework';
import * as z from 'zod';
import { db } from '../db';
import { decodePubSub, MalformedMessage } from '../events/cloud-event';
import { logger } from '../log';
import { lazySchema } from '../validation/lazy-schema';
import { keyEncryptionKey, transport } from '../platform';
import { deliverDue } from './deliveries';
import { JOB_EVENT_TYPES } from './events';
import { notifyBatchEvent, notifyJobEvent } from './notify';

const jobResult = lazySchema(() =>
  z.union([
    z.object({ type: z.literal('batch.completed'), batch_id: z.uuid(), tenant_id: z.uuid() }),
    z.object({ type: z.string(), job_id: z.uuid(), tenant_id: z.uuid() }),
  ]),
);
const notification = lazySchema(() => z.object({ delivery_id: z.string().uuid() }));

function decode<T>(event: CloudEvent<unknown>, schema: z.ZodType<T>, topic: string): T | null {
  try {
    return schema.parse(decodePubSub(event).data);
  } catch (err) {
    if (err instanceof MalformedMessage || err instanceof z.ZodError) {
      logger().error(`malformed ${topic} message dropped`, { eventId: event.id, error: err.message });
      return null;
    }
    throw err;
  }
}

export async function onJobResult(event: CloudEvent<unknown>): Promise<void> {
  const message = decode(event, jobResult(), 'job-results');
  if (!message) return;
  if ('batch_id' in message) {
    await notifyBatchEvent(db(), transport(), message);
    return;
  }
  const type = JOB_EVENT_TYPES.find((t) => t === message.type);
  // Other job-results subscribers may get types webhooks do not carry.
  if (!type) return;
  await notifyJobEvent(db(), transport(), { type, job_id: message.job_id, tenant_id: message.tenant_id });
}

export async function onJobNotification(event: CloudEvent<unknown>): Promise<void> {
  const message = decode(event, notification(), 'job-notifications');
  if (!message) return;
  const outcome = await deliverDue(db(), transport(), keyEncryptionKey(), message.delivery_id);
  if (typeof outcome === 'string')
    logger().debug('webhook delivery skipped', { deliveryId: message.delivery_id, outcome });
}
