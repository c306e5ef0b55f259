/** A finished job's output as partners get it: signed URLs of the stored files and their media facts. */
import type { ResultMediaView } from '../openapi/schemas/jobs';
import { objectStore } from '../platform';
import type { StoredResult, StoredTrack } from './views';

export async function resultView(r: StoredResult, ttlSeconds: number): Promise<ResultMediaView> {
  const sign = (key: string): Promise<string> => objectStore().signedReadUrl(r.bucket, key, ttlSeconds);
  const track = async ({ captions, ...t }: StoredTrack): Promise<NonNullable<ResultMediaView['tracks']>[number]> => ({
    ...t,
    captions: captions && {
      webvtt_url: await sign(captions.webvtt_key),
      srt_url: await sign(captions.srt_key),
      burned: captions.burned,
    },
  });
  return {
    url: await sign(r.key),
    url_expires_at: new Date(Date.now() + ttlSeconds * 1000).toISOString(),
    content_type: r.content_type,
    size_bytes: r.size_bytes,
    duration_seconds: r.duration_seconds,
    video: r.video,
    audio: r.audio,
    loudness: r.loudness,
    ...(r.tracks ? { tracks: await Promise.all(r.tracks.map(track)) } : {}),
  };
}
