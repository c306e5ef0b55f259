import type { Request, Response } from 'express';
import { db } from '../db';
import { problems } from '../http/problem';
import { parseJobRequest } from '../jobs/request';
import { submitJob } from '../jobs/submit';
import { jsonBody } from '../http/json-body';

/** What an `Idempotency-Key` may be: 1 to 255 visible ASCII characters. */
export const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

export async function runPipeline(req: Request, res: Response): Promise<void> {
  const parsed = parseJobRequest(jsonBody(req));
  if (!parsed.ok) throw problems.validation(parsed.errors);
  const key = req.header('idempotency-key');
  if (key !== undefined && !IDEMPOTENCY_KEY.test(key)) {
    throw problems.badRequest('invalid_idempotency_key', 'Idempotency-Key must be 1 to 255 visible ASCII characters.');
  }
  const accepted = await submitJob(db(), req.principal!, parsed.request, key);
  res.status(202).location(`/pipeline/${accepted.job_id}`).json(accepted);
}
