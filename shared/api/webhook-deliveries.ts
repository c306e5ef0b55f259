import type { Request, Response } from 'express';
import { db } from '../db';
import { listDeliveries, parseDeliveryQuery } from '../webhooks/views';

/** GET /webhooks/{id}/deliveries?state&limit&cursor: newest first, each with every attempt. */
export async function webhookDeliveries(req: Request, res: Response): Promise<void> {
  const query = parseDeliveryQuery(req.query as Record<string, unknown>);
  const page = await listDeliveries(db(), req.principal!.tenantId, String(req.params.id), query);
  res.setHeader('Cache-Control', 'no-store');
  res.json(page);
}
