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
