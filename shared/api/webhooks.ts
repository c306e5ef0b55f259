/**
 * The webhook management endpoints, one function each (shared/platform/manifest.ts). The rules
 * live in shared/webhooks/registry.ts; these only read the request and write the answer. No
 * answer may be cached: two of them carry a signing key, the others a webhook's live status.
 */
import type { Request, Response } from 'express';
import { config } from '../config';
import { db } from '../db';
import { keyEncryptionKey } from '../platform';
import {
  deleteWebhook,
  enableWebhook,
  getWebhook,
  listWebhooks,
  parseListWebhooks,
  registerWebhook,
  rotateWebhookSecret,
  type WebhookWithSecret,
} from '../webhooks/registry';
import { jsonBody } from '../http/json-body';
import type { WebhookWithSecretView } from '../openapi/schemas/webhooks';

const tenantOf = (req: Request): string => req.principal!.tenantId;
const idOf = (req: Request): string => String(req.params.id);

/** The view, and the key shown this once beside it. */
const withSecret = (w: WebhookWithSecret): WebhookWithSecretView => ({ ...w.webhook, secret: w.secret });

export async function webhooksCreate(req: Request, res: Response): Promise<void> {
  const created = await registerWebhook(db(), keyEncryptionKey(), req.principal!, jsonBody(req), {
    allowPrivate: config().AIPROD_ALLOW_PRIVATE_URLS,
  });
  res.setHeader('Cache-Control', 'no-store');
  res.status(201).location(`/webhooks/${created.webhook.id}`).json(withSecret(created));
}

export async function webhooksList(req: Request, res: Response): Promise<void> {
  const page = await listWebhooks(db(), tenantOf(req), parseListWebhooks(req.query));
  res.setHeader('Cache-Control', 'no-store');
  res.json(page);
}

export async function webhookGet(req: Request, res: Response): Promise<void> {
  const webhook = await getWebhook(db(), tenantOf(req), idOf(req));
  res.setHeader('Cache-Control', 'no-store');
  res.json(webhook);
}

export async function webhookDelete(req: Request, res: Response): Promise<void> {
  await deleteWebhook(db(), tenantOf(req), idOf(req));
  res.status(204).end();
}

export async function webhookEnable(req: Request, res: Response): Promise<void> {
  const webhook = await enableWebhook(db(), tenantOf(req), idOf(req));
  res.setHeader('Cache-Control', 'no-store');
  res.json(webhook);
}

export async function webhookRotateSecret(req: Request, res: Response): Promise<void> {
  const rotated = await rotateWebhookSecret(db(), keyEncryptionKey(), tenantOf(req), idOf(req));
  res.setHeader('Cache-Control', 'no-store');
  res.json(withSecret(rotated));
}
