/** A finished job's output as partners get it: a signed URL of the stored file and its media facts. */
import type { ResultMediaView } from '../openapi/schemas/jobs';
import { objectStore } from '../platform';
import type { StoredResult } from './views';

export async function resultView(r: StoredResult, ttlSeconds: number): Promise<ResultMediaView> {
  return {
    url: await objectStore().signedReadUrl(r.bucket, r.key, ttlSeconds),
    url_expires_at: new Date(Date.now() + ttlSeconds * 1000).toISOString(),
    content_type: r.content_type,
    size_bytes: r.size_bytes,
    duration_seconds: r.duration_seconds,
    video: r.video,
    audio: r.audio,
    loudness: r.loudness,
  };
}
