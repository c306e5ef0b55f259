/** job-processor's handler: decode the Pub/Sub delivery, then hand over to the job logic. */
import type { CloudEvent } from '@google-cloud/functions-framework';
import * as z from 'zod';
import { db } from '../db';
import { decodePubSub, MalformedMessage } from '../events/cloud-event';
import { logger } from '../log';
import { lazySchema } from '../validation/lazy-schema';
import { processJob } from './process';

const jobMessage = lazySchema(() => z.object({ job_id: z.string().uuid() }));

export async function onPipelineJob(event: CloudEvent<unknown>): Promise<void> {
  let jobId: string;
  try {
    jobId = jobMessage().parse(decodePubSub(event).data).job_id;
  } catch (err) {
    // A message that can never be processed is acknowledged, not retried until dead-lettered.
    if (err instanceof MalformedMessage || err instanceof z.ZodError) {
      logger().error('malformed pipeline-jobs message dropped', { eventId: event.id, error: err.message });
      return;
    }
    throw err;
  }
  await processJob(db(), jobId);
}
