import type { Request, Response } from 'express';
import { db } from '../db';
import { keyEncryptionKey, transport } from '../platform';
import { sendTestEvent } from '../webhooks/deliveries';

/** POST /webhooks/{id}/test: a `webhook.test` event, sent now, once; the answer is that attempt's outcome. */
export async function webhookTest(req: Request, res: Response): Promise<void> {
  const outcome = await sendTestEvent(
    db(),
    transport(),
    keyEncryptionKey(),
    req.principal!.tenantId,
    String(req.params.id),
  );
  res.setHeader('Cache-Control', 'no-store');
  res.json(outcome);
}
