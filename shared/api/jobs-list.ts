import type { Request, Response } from 'express';
import { replicaDb } from '../db';
import { listJobs, parseListJobs } from '../jobs/listing';

/**
 * GET /jobs?status&recipe&batch_id&created_after&created_before&limit&cursor: the tenant's jobs,
 * newest first, a page at a time. A listing may lag its writes by the replication delay, so it
 * reads from the replica when one is configured and leaves the primary to the hot path.
 */
export async function jobsList(req: Request, res: Response): Promise<void> {
  const page = await listJobs(replicaDb(), req.principal!.tenantId, parseListJobs(req.query));
  res.setHeader('Cache-Control', 'no-store');
  res.json(page);
}
