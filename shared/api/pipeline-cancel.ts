import type { Request, Response } from 'express';
import { db } from '../db';
import { cancelJob } from '../jobs/cancel';
import { statusView } from '../jobs/views';

/** POST /pipeline/{id}/cancel: the job's status after the cancel. */
export async function pipelineCancel(req: Request, res: Response): Promise<void> {
  const job = await cancelJob(db(), req.principal!.tenantId, String(req.params.id));
  res.json(statusView(job));
}
