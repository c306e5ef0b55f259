import type { Knex } from 'knex';

/**
 * What the upload-inspector learns of an upload once its object is complete (the uploads
 * bucket's OBJECT_FINALIZE notification, or the local store's after the PUT):
 *
 * - `duration_seconds`: how long the picture lasts, as a dub measures it (the video stream's own
 *   length, else the file's); null until inspected, and null for good when the file is no video
 *   a job could dub (an image, sound alone, anything unreadable). Submit refuses what it knows
 *   cannot work from it: a script line starting at or after it, a video over the time limit.
 * - `inspected_at`: when the object was inspected; null until then. Set once: a redelivered
 *   notification finds it set and changes nothing.
 * - `inspection_error`: why no duration was recorded (`not_a_video`, `corrupt_media`, ...), for
 *   operators; null when one was, or before inspection.
 */
export async function up(k: Knex): Promise<void> {
  await k.schema.alterTable('uploads', (t) => {
    t.double('duration_seconds');
    t.timestamp('inspected_at', { useTz: true });
    t.text('inspection_error');
  });
  await k.raw(
    'ALTER TABLE uploads ADD CONSTRAINT uploads_duration_check CHECK (duration_seconds IS NULL OR duration_seconds > 0)',
  );
}

export async function down(k: Knex): Promise<void> {
  await k.raw('ALTER TABLE uploads DROP CONSTRAINT IF EXISTS uploads_duration_check');
  await k.schema.alterTable('uploads', (t) => {
    t.dropColumn('inspection_error');
    t.dropColumn('inspected_at');
    t.dropColumn('duration_seconds');
  });
}
