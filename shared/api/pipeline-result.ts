import type { Request, Response } from 'express';
import { config } from '../config';
import { db } from '../db';
import { HttpProblem } from '../http/problem';
import { objectStore } from '../platform';
import { findJob, statusView } from '../jobs/views';

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
  if (job.status !== 'COMPLETED' || !job.result) {
    res.setHeader('Retry-After', String(RETRY_AFTER_SECONDS));
    res.status(202).json(statusView(job));
    return;
  }
  const r = job.result;
  const ttl = config().AIPROD_SIGNED_URL_TTL_SECONDS;
  res.json({
    job_id: job.id,
    status: job.status,
    metadata: job.metadata ?? {},
    url: await objectStore().signedReadUrl(r.bucket, r.key, ttl),
    url_expires_at: new Date(Date.now() + ttl * 1000).toISOString(),
    content_type: r.content_type,
    size_bytes: r.size_bytes,
    duration_seconds: r.duration_seconds,
    video: r.video,
    audio: r.audio,
    loudness: r.loudness,
  });
}
