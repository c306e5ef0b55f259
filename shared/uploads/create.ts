/**
 * POST /uploads: a signed URL the partner PUTs one file to, straight into the uploads bucket (the
 * bytes never pass through a function), and the `gs://` URI a job then takes as its input. The
 * upload is recorded so that submit can tell the tenant's own uploads from anything else.
 */
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import type { UploadView } from '../openapi/schemas/account';
import type { ObjectStore } from '../storage';
import { storageUri, uploadKey } from './location';
import { parseUploadRequest } from './request';

export interface UploadSettings {
  bucket: string;
  /** The largest input a job takes (jobs/input-limit.ts). */
  maxBytes: number;
  ttlSeconds: number;
}

/** What POST /uploads answers: the documented shape (shared/openapi/schemas/account.ts). */
export type UploadAnswer = UploadView;

export async function createUpload(
  k: Knex,
  store: ObjectStore,
  tenantId: string,
  body: unknown,
  settings: UploadSettings,
): Promise<UploadAnswer> {
  const request = parseUploadRequest(body, settings.maxBytes);
  const uploadId = randomUUID();
  const key = uploadKey({ tenantId, uploadId, filename: request.filename });
  // Signed before the row is written and without a connection held: in Cloud Storage signing is
  // a call to IAM. A URL whose row then fails to be written is never handed out.
  const signed = await store.signedUploadUrl(settings.bucket, key, {
    contentType: request.content_type,
    sizeBytes: request.size_bytes,
    ttlSeconds: settings.ttlSeconds,
  });
  await k('uploads').insert({
    id: uploadId,
    tenant_id: tenantId,
    filename: request.filename,
    content_type: request.content_type,
    size_bytes: request.size_bytes,
    expires_at: signed.expiresAt,
  });
  return {
    upload_url: signed.url,
    method: 'PUT',
    headers: signed.headers,
    storage_uri: storageUri(settings.bucket, key),
    expires_at: signed.expiresAt.toISOString(),
  };
}
