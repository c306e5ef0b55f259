/**
 * What a secret-rotation message asks for. Two senders share the topic:
 *
 * - Cloud Scheduler (and an operator, through `npm run publish` or gcloud): JSON data
 *   `{"action":"rotate"}` rotates whatever is due, `"secret"` names one, `"force":true` rotates it
 *   however recent its last rotation, `"dry_run":true` reports and changes nothing;
 *   `{"action":"finish"}` only completes the steps left for later (a grace period that ended).
 * - Secret Manager: an event notification, told by its attributes (`eventType`, `secretId` as
 *   `projects/<project>/secrets/<id>`, `dataFormat`; the data is the Secret resource). Only
 *   SECRET_ROTATE asks for anything; every other event (the versions a rotation adds and
 *   disables notify the topic too, and TOPIC_CONFIGURED comes with no data at all) is noise.
 */
import type { CloudEvent } from '@google-cloud/functions-framework';
import * as z from 'zod';
import { lazySchema } from '../../validation/lazy-schema';

export type RotationOrder =
  | { kind: 'rotate'; trigger: 'schedule' | 'manual'; dryRun: boolean; only?: string; force: boolean }
  | { kind: 'finish' }
  | { kind: 'notice'; secret: string }
  | { kind: 'ignore'; reason: string };

const command = lazySchema(() =>
  z
    .object({
      action: z.enum(['rotate', 'finish']),
      dry_run: z.boolean().optional(),
      secret: z
        .string()
        .regex(/^[A-Za-z0-9_-]{1,255}$/)
        .optional(),
      force: z.boolean().optional(),
    })
    .strict(),
);

interface PushData {
  message?: { data?: string; attributes?: Record<string, string>; messageId?: string };
}

export interface RotationMessage {
  order: RotationOrder;
  messageId: string;
}

export function readRotationMessage(event: CloudEvent<unknown>): RotationMessage {
  const message = (event.data as PushData | undefined)?.message;
  const messageId = message?.messageId ?? event.id;
  const attributes = message?.attributes ?? {};
  if (attributes.eventType) return { messageId, order: notice(attributes) };
  let data: unknown;
  try {
    data = JSON.parse(Buffer.from(message?.data ?? '', 'base64').toString('utf8'));
  } catch {
    return { messageId, order: { kind: 'ignore', reason: 'the message data is not JSON' } };
  }
  const parsed = command().safeParse(data);
  if (!parsed.success) {
    return { messageId, order: { kind: 'ignore', reason: `not a rotation order: ${parsed.error.issues[0]?.message}` } };
  }
  const c = parsed.data;
  if (c.action === 'finish') return { messageId, order: { kind: 'finish' } };
  return {
    messageId,
    order: {
      kind: 'rotate',
      // What Cloud Scheduler sends is the bare order; anything more is an operator's.
      trigger: c.secret || c.force ? 'manual' : 'schedule',
      dryRun: c.dry_run ?? false,
      ...(c.secret ? { only: c.secret } : {}),
      force: c.force ?? false,
    },
  };
}

function notice(attributes: Record<string, string>): RotationOrder {
  if (attributes.eventType !== 'SECRET_ROTATE') {
    return { kind: 'ignore', reason: `Secret Manager event ${attributes.eventType}` };
  }
  const secret = /^projects\/[^/]+\/secrets\/([A-Za-z0-9_-]{1,255})$/.exec(attributes.secretId ?? '')?.[1];
  if (!secret) return { kind: 'ignore', reason: 'a SECRET_ROTATE notice without a secretId' };
  return { kind: 'notice', secret };
}
