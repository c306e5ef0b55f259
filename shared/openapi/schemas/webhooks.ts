/** What the webhook endpoints answer: shared/webhooks/registry.ts, views.ts and deliveries.ts build these. */
import * as z from 'zod';
import { DELIVERY_STATES } from '../../webhooks/views';
import { SIGNING_SCHEMES, WEBHOOK_EVENTS } from '../../webhooks/registry';
import { instant, pageOf, uuid } from './common';

const deliveryState = z.enum(DELIVERY_STATES as readonly ['pending', 'succeeded', 'failed']);
export const webhookEvent = z.enum(WEBHOOK_EVENTS).meta({ id: 'WebhookEvent' });

export const webhookSchema = z
  .strictObject({
    id: uuid(),
    url: z.url(),
    events: z.array(webhookEvent),
    signing: z.enum(SIGNING_SCHEMES).meta({
      description: '`hmac` (HMAC-SHA256, `v1,` signatures) or `ed25519` (`v1a,` signatures).',
    }),
    status: z.enum(['active', 'disabled']),
    disabled: z
      .strictObject({ reason: z.string().nullable(), at: instant().nullable() })
      .optional()
      .meta({ description: 'Only when `status` is `disabled`: why and since when.' }),
    consecutive_failures: z.int().min(0),
    rotation: z
      .strictObject({ previous_expires_at: instant() })
      .optional()
      .meta({ description: 'Only while the key from before the last rotation still signs deliveries.' }),
    created_at: instant(),
    updated_at: instant(),
  })
  .meta({
    id: 'Webhook',
    description: 'A webhook, never with its signing key.',
    example: {
      id: '9d3c2b1a-7e6f-4a5b-8c9d-0e1f2a3b4c5d',
      url: 'https://hooks.example.com/aiprod',
      events: ['job.completed', 'job.failed'],
      signing: 'hmac',
      status: 'active',
      consecutive_failures: 0,
      created_at: '2025-01-31T09:30:00.000Z',
      updated_at: '2025-01-31T09:30:00.000Z',
    },
  });
export type WebhookViewBody = z.infer<typeof webhookSchema>;

export const webhookWithSecretSchema = webhookSchema
  .extend({
    secret: z.string().meta({
      description:
        'Shown in this answer only: `whsec_…` (hmac, the key itself) or `whpk_…` (ed25519, the public key to verify with).',
    }),
  })
  .meta({ id: 'WebhookWithSecret', description: 'The webhook, and its signing key, shown this once.' });
export type WebhookWithSecretView = z.infer<typeof webhookWithSecretSchema>;

export const webhookPageSchema = pageOf(webhookSchema).meta({ id: 'WebhookPage' });

export const attemptOutcomeSchema = z
  .strictObject({
    delivery_id: uuid(),
    event_id: z.string().meta({ description: 'The `webhook-id` header of the delivery.' }),
    status_code: z.int().nullable().meta({ description: "The receiver's status; null when it did not answer." }),
    latency_ms: z.int().min(0),
    error: z.string().nullable(),
    succeeded: z.boolean(),
    state: deliveryState,
    next_attempt_at: instant().nullable(),
  })
  .meta({
    id: 'AttemptOutcome',
    description: 'One attempt of a delivery, made now.',
    example: {
      delivery_id: '1f2e3d4c-5b6a-4798-8a7b-6c5d4e3f2a1b',
      event_id: 'evt_6f1c0a9e2b7d4e3f8a5b1c2d3e4f5a6b',
      status_code: 200,
      latency_ms: 84,
      error: null,
      succeeded: true,
      state: 'succeeded',
      next_attempt_at: null,
    },
  });

export type AttemptOutcomeView = z.infer<typeof attemptOutcomeSchema>;

export const deliverySchema = z
  .strictObject({
    delivery_id: uuid(),
    event_id: z.string(),
    event_type: webhookEvent,
    state: deliveryState,
    next_attempt_at: instant().nullable().meta({ description: 'When the next attempt is due; null unless pending.' }),
    created_at: instant(),
    updated_at: instant(),
    attempts: z.array(
      z.strictObject({
        attempted_at: instant(),
        status_code: z.int().nullable(),
        latency_ms: z.int().min(0),
        error: z.string().nullable(),
      }),
    ),
  })
  .meta({ id: 'Delivery', description: 'One event sent to one webhook, with every attempt, oldest first.' });

export const deliveryPageSchema = pageOf(deliverySchema).meta({ id: 'DeliveryPage' });
export type DeliveryPageView = z.infer<typeof deliveryPageSchema>;
