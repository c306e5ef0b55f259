import type { Request, Response } from 'express';
import { db } from '../db';
import { eventsUrl } from '../jobs/events-url';
import { findJob, statusView } from '../jobs/views';
import type { JobStatusWithEventsView } from '../openapi/schemas/jobs';

export async function pipelineStatus(req: Request, res: Response): Promise<void> {
  const job = await findJob(db(), req.principal!.tenantId, String(req.params.id));
  // For a browser's EventSource, which cannot send the key: the job's live events, signed for an hour.
  const events = eventsUrl(job.id, job.tenant_id);
  res.setHeader('Cache-Control', 'no-store');
  res.json({
    ...statusView(job),
    events_url: events.url,
    events_url_expires_at: events.expiresAt.toISOString(),
  } satisfies JobStatusWithEventsView);
}
