/** The batch endpoints: POST /pipeline/batch, GET /pipeline/batch/{id}, its results, its cancel. */
import type { Request, Response } from 'express';
import { submitBatch } from '../batches/submit';
import { cancelBatch } from '../batches/cancel';
import { writeBatchResults } from '../batches/results';
import { batchState, batchView, findBatch } from '../batches/views';
import { config } from '../config';
import { db } from '../db';
import { idempotencyKey } from '../http/idempotency-key';
import { jsonBody } from '../http/json-body';
import { logger } from '../log';

export async function createBatch(req: Request, res: Response): Promise<void> {
  const accepted = await submitBatch(db(), req.principal!, jsonBody(req), idempotencyKey(req));
  res.status(202).location(`/pipeline/batch/${accepted.batch_id}`).json(accepted);
}

export async function batchStatus(req: Request, res: Response): Promise<void> {
  const batch = await findBatch(db(), req.principal!.tenantId, String(req.params.id));
  res.setHeader('Cache-Control', 'no-store');
  res.json(batchView(await batchState(db(), batch)));
}

export async function batchResults(req: Request, res: Response): Promise<void> {
  const batch = await findBatch(db(), req.principal!.tenantId, String(req.params.id));
  res.status(200);
  res.setHeader('Content-Type', 'application/zip');
  res.setHeader('Content-Disposition', `attachment; filename="batch-${batch.id}.zip"`);
  res.setHeader('Cache-Control', 'no-store');
  try {
    await writeBatchResults(db(), batch, config().AIPROD_SIGNED_URL_TTL_SECONDS, res);
  } catch (err) {
    if (!res.headersSent) {
      // Nothing sent yet (the first page failed): the problem goes out instead of an archive.
      res.removeHeader('Content-Disposition');
      throw err;
    }
    if (res.destroyed) {
      logger().info('batch results: the client went away', { requestId: req.id, batchId: batch.id });
      return;
    }
    // Past the first byte there is no problem to answer: the cut archive tells the client.
    logger().error('batch results stream failed', { requestId: req.id, batchId: batch.id, error: err });
    res.destroy(err instanceof Error ? err : new Error(String(err)));
  }
}

export async function batchCancel(req: Request, res: Response): Promise<void> {
  const state = await cancelBatch(db(), req.principal!.tenantId, String(req.params.id));
  res.json(batchView(state));
}
