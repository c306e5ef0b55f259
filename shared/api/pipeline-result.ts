import type { Request, Response } from 'express';
import { config } from '../config';
import { db } from '../db';
import { HttpProblem } from '../http/problem';
import { resultView } from '../jobs/result-view';
import { findJob, statusView } from '../jobs/views';
import type { JobResultView } from '../openapi/schemas/jobs';

/** Seconds a partner should wait before asking again while the job runs. */
const RETRY_AFTER_SECONDS = 5;

export async function pipelineResult(req: Request, res: Response): Promise<void> {
  const job = await findJob(db(), req.principal!.tenantId, String(req.params.id));
  res.setHeader('Cache-Control', 'no-store');
  if (job.status === 'FAILED') {
    throw new HttpProblem(422, job.error_code ?? 'job_failed', 'Job failed', job.error_message ?? 'The job failed.');
  }
  if (job.status === 'CANCELLED') {
    throw new HttpProblem(409, 'job_cancelled', 'Job cancelled', 'The job was cancelled: it has no result.');
  }
  if (job.expired_at) {
    const on = new Date(job.expired_at).toISOString();
    throw new HttpProblem(
      410,
      'result_expired',
      'Result expired',
      `The output was deleted on ${on}, at the end of its retention period.`,
    );
  }
  if (job.status !== 'COMPLETED' || !job.result) {
    res.setHeader('Retry-After', String(RETRY_AFTER_SECONDS));
    res.status(202).json(statusView(job));
    return;
  }
  res.json({
    job_id: job.id,
    status: job.status,
    metadata: job.metadata ?? {},
    ...(await resultView(job.result, config().AIPROD_SIGNED_URL_TTL_SECONDS)),
  } satisfies JobResultView);
}
