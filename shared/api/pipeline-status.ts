import type { Request, Response } from 'express';
import { db } from '../db';
import { findJob, statusView } from '../jobs/views';

export async function pipelineStatus(req: Request, res: Response): Promise<void> {
  const job = await findJob(db(), req.principal!.tenantId, String(req.params.id));
  res.setHeader('Cache-Control', 'no-store');
  res.json(statusView(job));
}
