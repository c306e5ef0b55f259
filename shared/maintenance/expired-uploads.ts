/**
 * An upload past its retention period: the row that let a job take it as input, and the object.
 * On Cloud Storage the uploads bucket's lifecycle rule (the same number of days) deletes the object
 * too, so there the delete mostly finds it gone; the local store has no such rule.
 */
import type { Knex } from 'knex';
import type { ObjectStore } from '../storage';
import { uploadKey } from '../uploads/location';
import { deleteObjects } from './objects';

export interface ExpiredUploads {
  /** Upload rows deleted by this batch. */
  taken: number;
  failed: number;
}

/** Deletes at most `limit` of the uploads made over `days` days ago, oldest first, then their objects. */
export async function expireUploads(
  k: Knex,
  store: ObjectStore,
  bucket: string,
  days: number,
  limit: number,
): Promise<ExpiredUploads> {
  const rows: { id: string; tenant_id: string; filename: string }[] = (
    await k.raw(
      `DELETE FROM uploads
       WHERE id IN (SELECT id FROM uploads WHERE created_at < now() - make_interval(days => ?)
                    ORDER BY created_at LIMIT ? FOR UPDATE SKIP LOCKED)
       RETURNING id, tenant_id, filename`,
      [days, limit],
    )
  ).rows;
  const objects = rows.map((r) => ({
    bucket,
    key: uploadKey({ tenantId: r.tenant_id, uploadId: r.id, filename: r.filename }),
  }));
  const { failed } = await deleteObjects(store, objects, 'uploads');
  return { taken: rows.length, failed };
}
