/**
 * A job past the retention period: its output is deleted and its request (the partner's script and
 * input URLs) cleared; the row itself stays, with its status, metadata, timestamps and stored result
 * facts, because GET /usage counts media seconds from it. `expired_at` says when; from then on
 * GET /pipeline/{id}/result answers 410 `result_expired`.
 */
import type { Knex } from 'knex';
import type { ObjectStore } from '../storage';
import { storedObjects, type StoredTrack } from '../jobs/views';
import { deleteObjects, type StoredObject } from './objects';

export interface ExpiredJobs {
  /** Jobs expired by this batch. */
  taken: number;
  outputs: number;
  failed: number;
}

/**
 * Expires at most `limit` of the jobs that ended over `days` days ago, oldest first. The claim is
 * one statement whose SKIP LOCKED leaves another sweep's rows alone, and whose commit makes them
 * no longer due: no two sweeps take one job, so no output is deleted twice. The objects go after
 * it, with no connection held.
 */
export async function expireJobs(k: Knex, store: ObjectStore, days: number, limit: number): Promise<ExpiredJobs> {
  const rows: { id: string; bucket: string | null; key: string | null; tracks: StoredTrack[] | null }[] = (
    await k.raw(
      `UPDATE jobs SET expired_at = now(), request = '{}'::jsonb
       WHERE id IN (SELECT id FROM jobs
                    WHERE expired_at IS NULL AND completed_at IS NOT NULL
                      AND completed_at < now() - make_interval(days => ?)
                    ORDER BY completed_at LIMIT ? FOR UPDATE SKIP LOCKED)
       RETURNING id, result->>'bucket' AS bucket, result->>'key' AS key, result->'tracks' AS tracks`,
      [days, limit],
    )
  ).rows;
  const objects = rows.flatMap((r): StoredObject[] =>
    r.bucket && r.key ? storedObjects({ bucket: r.bucket, key: r.key, tracks: r.tracks ?? undefined }) : [],
  );
  const { deleted, failed } = await deleteObjects(store, objects, 'outputs');
  return { taken: rows.length, outputs: deleted, failed };
}
