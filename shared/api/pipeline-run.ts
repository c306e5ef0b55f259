import type { Request, Response } from 'express';
import { db } from '../db';
import { idempotencyKey } from '../http/idempotency-key';
import { problems } from '../http/problem';
import { parseJobRequest } from '../jobs/request';
import { submitJob } from '../jobs/submit';
import { jsonBody } from '../http/json-body';

export async function runPipeline(req: Request, res: Response): Promise<void> {
  const parsed = parseJobRequest(jsonBody(req));
  if (!parsed.ok) throw problems.validation(parsed.errors);
  const accepted = await submitJob(db(), req.principal!, parsed.request, { idempotencyKey: idempotencyKey(req) });
  res.status(202).location(`/pipeline/${accepted.job_id}`).json(accepted);
}
