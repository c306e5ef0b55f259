/**
 * upload-inspector's handler (upload-finalized, fed by the uploads bucket's OBJECT_FINALIZE
 * notifications, or locally by the store's PUT handler): read the notice, inspect the upload,
 * log what came of it. A notice about anything but a recorded upload, or a file that is no video,
 * is acknowledged with a log line; a thrown error (storage, the database, ffprobe failed us) is
 * retried by Pub/Sub until the subscription dead-letters it.
 */
import type { CloudEvent } from '@google-cloud/functions-framework';
import { config } from '../config';
import { db } from '../db';
import { logger } from '../log';
import { inspectUpload, type Inspection } from './inspect';
import { readFinalizedNotice } from './notification';

export async function onUploadFinalized(event: CloudEvent<unknown>): Promise<Inspection> {
  const notice = readFinalizedNotice(event);
  const { messageId } = notice;
  if (notice.kind === 'ignore') {
    logger().warn('upload-finalized message ignored', { event: 'upload.ignored', messageId, reason: notice.reason });
    return { outcome: 'ignored', reason: notice.reason };
  }
  const result = await inspectUpload(db(), notice, { uploadsBucket: config().AIPROD_UPLOADS_BUCKET });
  switch (result.outcome) {
    case 'recorded':
      logger().info('upload inspected', {
        event: 'upload.inspected',
        messageId,
        uploadId: result.uploadId,
        tenantId: result.tenantId,
        durationSeconds: result.durationSeconds,
        sizeBytes: result.sizeBytes,
      });
      break;
    case 'no_duration':
      logger().warn('upload inspected: no video a job can dub', {
        event: 'upload.no_duration',
        messageId,
        uploadId: result.uploadId,
        tenantId: result.tenantId,
        reason: result.reason,
        detail: result.detail,
      });
      break;
    case 'already_inspected':
      logger().info('upload already inspected', {
        event: 'upload.already_inspected',
        messageId,
        uploadId: result.uploadId,
        tenantId: result.tenantId,
      });
      break;
    case 'ignored':
      // The bucket's other objects, or an upload row that is gone: nothing to record.
      logger().warn('upload-finalized message ignored', { event: 'upload.ignored', messageId, reason: result.reason });
      break;
  }
  return result;
}
