/**
 * Where an upload lives: `<tenant id>/<upload id>/<filename>` in the uploads bucket, named to
 * partners as `gs://<bucket>/<key>`. The tenant leads the key so that whose an object is can be
 * read off its name, and the upload id makes every key new (an upload URL never overwrites).
 */

export interface UploadLocation {
  tenantId: string;
  uploadId: string;
  filename: string;
}

export const uploadKey = (l: UploadLocation): string => `${l.tenantId}/${l.uploadId}/${l.filename}`;

export const storageUri = (bucket: string, key: string): string => `gs://${bucket}/${key}`;

/** The upload a gs:// URI in `bucket` names, or null when its key is not shaped like an upload's. */
export function parseUploadUri(uri: string, bucket: string): UploadLocation | null {
  const url = new URL(uri);
  if (url.protocol !== 'gs:' || url.host !== bucket) return null;
  let segments: string[];
  try {
    segments = url.pathname.slice(1).split('/').map(decodeURIComponent);
  } catch {
    return null;
  }
  const [tenantId, uploadId, filename, ...rest] = segments;
  if (!tenantId || !uploadId || !filename || rest.length > 0) return null;
  return { tenantId, uploadId, filename };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * The upload an object key of the uploads bucket names, as the bucket's notifications give it
 * (the key as stored, not percent-encoded); null when the key is not `<tenant id>/<upload id>/<file
 * name>` with both ids UUIDs, so that nothing else in the bucket is mistaken for an upload.
 */
export function parseUploadKey(key: string): UploadLocation | null {
  const [tenantId, uploadId, filename, ...rest] = key.split('/');
  if (!tenantId || !uploadId || !filename || rest.length > 0) return null;
  return UUID.test(tenantId) && UUID.test(uploadId) ? { tenantId, uploadId, filename } : null;
}
