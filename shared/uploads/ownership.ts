/**
 * At submit: a gs:// input must be an upload of the submitting tenant, made through POST /uploads.
 * Two checks, so that the one needing no database runs wherever requests are validated:
 * - by name alone (`uploadNameProblem`): the uploads bucket, the tenant's own prefix, and a key
 *   shaped as uploads are (`<tenant id>/<upload id>/<file name>`);
 * - by record (`checkUploadsRecorded`): the upload was really handed out, to this tenant, under
 *   this file name, so a made-up id is refused too; and it is no larger than a job takes. Once the
 *   upload-inspector has recorded how long a video lasts, also that it is no longer than a job
 *   takes and that every timed script line starts before its end; before that (a submit right
 *   after the PUT), or for a file that is no video, the job checks both when it runs.
 * The URL's expiry does not matter here: what was uploaded in time stays usable until the
 * bucket's lifecycle deletes it.
 */
import type { Knex } from 'knex';
import { ValidationError, type FieldError } from '../errors';
import { config } from '../config';
import { maxInputBytes } from '../jobs/input-limit';
import { LATE_LINES_MESSAGE, lateLines, shown, tooLong, type TimedTrack } from '../jobs/script-fit';
import { describeBytes } from '../net';
import { parseUploadUri, type UploadLocation } from './location';
import { sanitizeFilename } from './request';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export interface UploadInput {
  uri: string;
  /** The request field the URI came in, for the error. */
  field: string;
  /**
   * Set when the input is a video (video_url): the tracks whose timed lines must start before its
   * end, checked with the time limit once the upload's duration is recorded. Absent for an image.
   */
  video?: { tracks: readonly TimedTrack[] };
}

const notYours = (field: string): FieldError => ({
  field,
  code: 'not_your_object',
  message: 'gs:// inputs must be your own uploads.',
});

const unknown = (field: string): FieldError => ({
  field,
  code: 'unknown_upload',
  message: 'gs:// inputs must be the storage_uri of an upload made with POST /uploads.',
});

/** Its size is the upload's, bound into its signed URL: known here without reading the object. */
const tooLarge = (field: string, sizeBytes: number, limit: number): FieldError => ({
  field,
  code: 'input_too_large',
  message: `The upload is ${describeBytes(sizeBytes)}; the largest input a job takes is ${describeBytes(limit)}.`,
});

/** Where an input that names an upload of this tenant's says it is; null for any other name. */
function ownLocation(uri: string, tenantId: string, uploadsBucket: string): UploadLocation | null {
  const location = parseUploadUri(uri, uploadsBucket);
  if (!location || location.tenantId !== tenantId || !UUID.test(location.uploadId)) return null;
  return sanitizeFilename(location.filename) === location.filename ? location : null;
}

/** Why a gs:// input cannot be this tenant's upload by its name; null when it may be (or is not gs://). */
export function uploadNameProblem(input: UploadInput, tenantId: string, uploadsBucket: string): FieldError | null {
  if (!input.uri.startsWith('gs://')) return null;
  const { host, pathname } = new URL(input.uri);
  if (host !== uploadsBucket || !pathname.startsWith(`/${tenantId}/`)) return notYours(input.field);
  return ownLocation(input.uri, tenantId, uploadsBucket) ? null : unknown(input.field);
}

/** The problem's code and message when every entry has the same one of these codes. */
const ONE_KIND: Record<string, (limits: { bytes: number; seconds: number }) => string> = {
  input_too_large: ({ bytes }) => `The largest input a job takes is ${describeBytes(bytes)}.`,
  input_too_long: ({ seconds }) => `The longest video a job takes is ${shown(seconds)} s.`,
  voice_too_long: () => LATE_LINES_MESSAGE,
};

/**
 * Refuses, with one entry each, the gs:// inputs that name no upload handed out to this tenant, or
 * one over the input limit; and of a video whose duration is recorded, one over the time limit and
 * each timed script line starting at or after its end. When every entry has one code of
 * `input_too_large`, `input_too_long` or `voice_too_long`, the problem's code is that one.
 * One query however many inputs (a batch's items); inputs that are not gs:// are skipped.
 */
export async function checkUploadsRecorded(
  k: Knex,
  tenantId: string,
  uploadsBucket: string,
  inputs: UploadInput[],
): Promise<void> {
  const named = inputs
    .filter((i) => i.uri.startsWith('gs://'))
    .map((input) => ({ input, location: ownLocation(input.uri, tenantId, uploadsBucket) }));
  if (named.length === 0) return;
  const ids = [...new Set(named.flatMap((n) => (n.location ? [n.location.uploadId] : [])))];
  const rows: { id: string; filename: string; size_bytes: string | number; duration_seconds: number | null }[] =
    ids.length > 0
      ? await k('uploads')
          .where({ tenant_id: tenantId })
          .whereIn('id', ids)
          .select('id', 'filename', 'size_bytes', 'duration_seconds')
      : [];
  const recorded = new Map(rows.map((r) => [r.id, r]));
  const limit = maxInputBytes();
  const maxSeconds = config().AIPROD_MAX_INPUT_SECONDS;
  const errors = named.flatMap(({ input, location }): FieldError[] => {
    const row = location && recorded.get(location.uploadId);
    if (!row || row.filename !== location.filename) return [unknown(input.field)];
    if (Number(row.size_bytes) > limit) return [tooLarge(input.field, Number(row.size_bytes), limit)];
    // Unknown until inspected, and for good when the file is no video: the job checks it then.
    const seconds = row.duration_seconds;
    if (seconds === null || !input.video) return [];
    return [...tooLong(input.field, seconds, maxSeconds), ...lateLines(input.video.tracks, seconds)];
  });
  if (errors.length === 0) return;
  const code = errors[0]!.code;
  const kind = Object.hasOwn(ONE_KIND, code) && errors.every((e) => e.code === code) ? ONE_KIND[code] : undefined;
  if (kind) throw new ValidationError(errors, code, kind({ bytes: limit, seconds: maxSeconds }));
  throw new ValidationError(errors);
}
