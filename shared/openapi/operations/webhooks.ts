/** The webhook endpoints. */
import { json, type OperationDoc } from '../operation';
import { deliveriesQuery, webhookRequestSchema, webhooksQuery } from '../requests';
import {
  attemptOutcomeSchema,
  deliveryPageSchema,
  webhookPageSchema,
  webhookSchema,
  webhookWithSecretSchema,
} from '../schemas/webhooks';

const WEBHOOK_ID = 'The webhook id; a webhook of another tenant is not found, as a missing one.';

export const webhookOperations = {
  'webhooks-create': {
    summary: 'Register a webhook',
    description:
      'Pro and enterprise tenants only (at most 10 and 100 webhooks, disabled ones included). The URL must be https with a host that resolves only to public addresses, checked now and before every delivery. The signing key is shown in this answer only.',
    tags: ['Webhooks'],
    request: {
      body: {
        schema: webhookRequestSchema,
        examples: {
          hmac: {
            summary: 'Jobs that end, signed with HMAC',
            value: { url: 'https://hooks.example.com/aiprod', events: ['job.completed', 'job.failed'] },
          },
          ed25519: {
            summary: 'Batches, signed with Ed25519',
            value: { url: 'https://hooks.example.com/batches', events: ['batch.completed'], signing: 'ed25519' },
          },
        },
      },
    },
    responses: {
      201: {
        description: 'Registered.',
        content: json(webhookWithSecretSchema),
        headers: { Location: { description: "The webhook's URL.", schema: { type: 'string' }, required: true } },
      },
    },
    problems: { 403: ['webhooks_not_in_tier'], 409: ['webhook_limit_reached'], 422: ['validation_failed'] },
  },
  'webhooks-list': {
    summary: "The tenant's webhooks",
    description: 'Newest first, a keyset page at a time, stable while webhooks come and go.',
    tags: ['Webhooks'],
    request: { query: webhooksQuery },
    responses: { 200: { description: 'One page.', content: json(webhookPageSchema) } },
    problems: { 422: ['validation_failed'] },
  },
  'webhook-get': {
    summary: 'A webhook',
    description: 'Its URL, events, scheme, status (and why it was disabled), failures in a row, and key rotation.',
    tags: ['Webhooks'],
    params: { id: WEBHOOK_ID },
    responses: { 200: { description: 'The webhook.', content: json(webhookSchema) } },
  },
  'webhook-delete': {
    summary: 'Delete a webhook',
    description: 'The webhook and its delivery history.',
    tags: ['Webhooks'],
    params: { id: WEBHOOK_ID },
    responses: { 204: { description: 'Deleted.' } },
  },
  'webhook-enable': {
    summary: 'Enable a webhook again',
    description: 'Active again, whatever disabled it, with `consecutive_failures` back at 0.',
    tags: ['Webhooks'],
    params: { id: WEBHOOK_ID },
    responses: { 200: { description: 'The webhook, active.', content: json(webhookSchema) } },
  },
  'webhook-rotate-secret': {
    summary: "Rotate a webhook's signing key",
    description:
      'A new key, shown once. For 24 h every delivery carries both signatures; a second rotation within them drops the oldest key.',
    tags: ['Webhooks'],
    params: { id: WEBHOOK_ID },
    responses: { 200: { description: 'The webhook and its new key.', content: json(webhookWithSecretSchema) } },
  },
  'webhook-test': {
    summary: 'Send a test event',
    description:
      "Sends a `webhook.test` event to the webhook now, once, whatever its status, and answers with the attempt; it never changes the webhook's health.",
    tags: ['Webhooks'],
    params: { id: WEBHOOK_ID },
    responses: { 200: { description: 'The attempt.', content: json(attemptOutcomeSchema) } },
  },
  'webhook-deliveries': {
    summary: "A webhook's deliveries",
    description: 'Newest first, a keyset page at a time, each with its state, next attempt and every attempt.',
    tags: ['Webhooks'],
    params: { id: WEBHOOK_ID },
    request: { query: deliveriesQuery },
    responses: { 200: { description: 'One page.', content: json(deliveryPageSchema) } },
    problems: { 422: ['validation_failed'] },
  },
  'webhook-delivery-retry': {
    summary: 'Retry a delivery',
    description:
      'One more attempt now, with the same `webhook-id`. A pending delivery takes it as its next attempt; a finished one as an extra attempt, which can only turn it `succeeded`.',
    tags: ['Webhooks'],
    params: { id: WEBHOOK_ID, delivery_id: "The delivery's `delivery_id`." },
    responses: { 200: { description: 'The attempt.', content: json(attemptOutcomeSchema) } },
    problems: { 409: ['delivery_in_flight'] },
  },
} satisfies Record<string, OperationDoc>;
