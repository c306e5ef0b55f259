import type { Request, Response } from 'express';
import { db } from '../db';
import { keyEncryptionKey, transport } from '../platform';
import { retryDelivery } from '../webhooks/deliveries';

/** POST /webhooks/{id}/deliveries/{delivery_id}/retry: one more attempt now, same webhook-id; its outcome. */
export async function webhookDeliveryRetry(req: Request, res: Response): Promise<void> {
  const outcome = await retryDelivery(
    db(),
    transport(),
    keyEncryptionKey(),
    req.principal!.tenantId,
    String(req.params.id),
    String(req.params.delivery_id),
  );
  res.setHeader('Cache-Control', 'no-store');
  res.json(outcome);
}
