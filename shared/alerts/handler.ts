/**
 * alert-notifier's handler (monitoring-alerts, fed by Cloud Monitoring's Pub/Sub notification
 * channel): decode the delivery, then post the incident. A message that is not an incident
 * notification can never be posted: it is logged once and acknowledged rather than redelivered
 * until it is dead-lettered. A thrown error (Slack unavailable, the database failed us) is
 * retried by Pub/Sub.
 */
import type { CloudEvent } from '@google-cloud/functions-framework';
import * as z from 'zod';
import { db } from '../db';
import { decodePubSub, MalformedMessage } from '../events/cloud-event';
import { logger } from '../log';
import { parseIncident, type Incident } from './incident';
import { notifyIncident } from './notify';

function decode(event: CloudEvent<unknown>): Incident | null {
  try {
    return parseIncident(decodePubSub(event).data);
  } catch (err) {
    if (err instanceof MalformedMessage || err instanceof z.ZodError) {
      const problem =
        err instanceof z.ZodError
          ? err.issues
              .slice(0, 5)
              .map((i) => `${i.path.join('.') || '(message)'}: ${i.message}`)
              .join('; ')
          : err.message;
      logger().error('malformed monitoring-alerts message dropped', {
        event: 'alert.not_posted',
        reason: 'malformed',
        eventId: event.id,
        error: problem,
      });
      return null;
    }
    throw err;
  }
}

export async function onMonitoringAlert(event: CloudEvent<unknown>): Promise<void> {
  const incident = decode(event);
  if (incident) await notifyIncident(db(), incident);
}
