/**
 * The upload-inspector's work: once an upload's object is complete, how long its picture lasts,
 * recorded on the upload's row so that submit can refuse what cannot work (a script line past
 * the end, a video over the time limit) instead of the job failing later. The object is read as a
 * job reads its input (jobs/input.ts: a range at a time, served to ffprobe on loopback), so only
 * the parts ffprobe asks for are read, never the whole file.
 *
 * Once per upload: a row already inspected is left as it is, and the final write is conditional
 * on that too, so a redelivered notice (at-least-once) changes nothing. A file that is no video a
 * dub could take (an image, sound alone, unreadable bytes) is recorded as inspected with no
 * duration; only a failure of ours (storage, the database, ffprobe itself) is retried.
 */
import { tmpdir } from 'node:os';
import type { Knex } from 'knex';
import { withInput } from '../jobs/input';
import { MediaError, type MediaErrorCode } from '../media/errors';
import { pictureSeconds, probe } from '../media/probe';
import { FetchError } from '../net';
import { parseUploadKey, storageUri } from './location';
import type { FinalizedObject } from './notification';

/** How long ffprobe may take over one upload; a slower read is retried by redelivery. */
export const PROBE_TIMEOUT_MS = 60_000;

/** The verdicts about the file itself: recorded, never retried. */
const NOT_DUBBABLE = new Set<MediaErrorCode>([
  'not_a_video',
  'corrupt_media',
  'unsupported_media',
  'absurd_dimensions',
]);

export type Inspection =
  | { outcome: 'recorded'; uploadId: string; tenantId: string; durationSeconds: number; sizeBytes: number }
  | { outcome: 'no_duration'; uploadId: string; tenantId: string; reason: string; detail: string }
  | { outcome: 'already_inspected'; uploadId: string; tenantId: string }
  | { outcome: 'ignored'; reason: string };

type Measured = { durationSeconds: number; sizeBytes: number } | { error: string; detail: string } | 'missing';

/** The picture's length as a dub measures it (media/dub.ts), or why the file has none. */
async function measure(uri: string, signal: AbortSignal): Promise<Measured> {
  try {
    return await withInput(uri, tmpdir(), signal, async (input) => ({
      durationSeconds: pictureSeconds(await probe(input.url, signal)),
      sizeBytes: input.sizeBytes,
    }));
  } catch (err) {
    if (err instanceof MediaError && NOT_DUBBABLE.has(err.code)) return { error: err.code, detail: err.message };
    if (err instanceof FetchError && err.code === 'input_too_large') return { error: err.code, detail: err.message };
    // Gone since its notice (retention, an operator): there is nothing left to learn.
    if (err instanceof FetchError && err.code === 'input_http_error' && err.status === 404) return 'missing';
    throw err;
  }
}

export async function inspectUpload(
  k: Knex,
  object: FinalizedObject,
  opts: { uploadsBucket: string; signal?: AbortSignal },
): Promise<Inspection> {
  if (object.bucket !== opts.uploadsBucket) return { outcome: 'ignored', reason: 'not the uploads bucket' };
  const location = parseUploadKey(object.name);
  if (!location) return { outcome: 'ignored', reason: 'not an upload key (<tenant id>/<upload id>/<file name>)' };
  const { tenantId, uploadId } = location;
  const row: { filename: string; inspected_at: Date | null } | undefined = await k('uploads')
    .where({ id: uploadId, tenant_id: tenantId })
    .first('filename', 'inspected_at');
  if (!row || row.filename !== location.filename) return { outcome: 'ignored', reason: 'no such upload recorded' };
  if (row.inspected_at) return { outcome: 'already_inspected', uploadId, tenantId };

  const signal = AbortSignal.any([AbortSignal.timeout(PROBE_TIMEOUT_MS), ...(opts.signal ? [opts.signal] : [])]);
  const measured = await measure(storageUri(object.bucket, object.name), signal);
  if (measured === 'missing') return { outcome: 'ignored', reason: 'the object no longer exists' };

  const found = 'durationSeconds' in measured;
  const written = await k('uploads')
    .where({ id: uploadId, tenant_id: tenantId })
    .whereNull('inspected_at')
    .update({
      duration_seconds: found ? measured.durationSeconds : null,
      inspection_error: found ? null : measured.error,
      inspected_at: k.fn.now(),
    });
  // Another delivery of the same notice got there first: its record stands.
  if (written === 0) return { outcome: 'already_inspected', uploadId, tenantId };
  return found
    ? { outcome: 'recorded', uploadId, tenantId, ...measured }
    : { outcome: 'no_duration', uploadId, tenantId, reason: measured.error, detail: measured.detail };
}
