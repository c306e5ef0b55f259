/** Deleting the stored objects of expired rows, a few at a time, with no database connection held. */
import { logger } from '../log';
import type { ObjectStore } from '../storage';

export interface StoredObject {
  bucket: string;
  key: string;
}

/** Deletes in flight at once: Cloud Storage answers each in tens of milliseconds; more would only queue. */
const DELETE_CONCURRENCY = 16;

/**
 * Deletes every object (a missing one counts as deleted: the bucket's lifecycle rule may have been
 * first). A failure is logged once per call and counted, not retried: the row that named the object
 * is already gone or expired, and the bucket's lifecycle rule, set to the same age, removes it.
 */
export async function deleteObjects(
  store: ObjectStore,
  objects: StoredObject[],
  what: string,
): Promise<{ deleted: number; failed: number }> {
  let deleted = 0;
  const failures: { bucket: string; key: string; error: unknown }[] = [];
  for (let i = 0; i < objects.length; i += DELETE_CONCURRENCY) {
    await Promise.all(
      objects.slice(i, i + DELETE_CONCURRENCY).map(async (o) => {
        try {
          await store.delete(o.bucket, o.key);
          deleted++;
        } catch (error) {
          failures.push({ ...o, error });
        }
      }),
    );
  }
  if (failures.length > 0) {
    const first = failures[0]!;
    logger().warn('retention: object deletes failed; the bucket lifecycle rule will remove them', {
      what,
      failed: failures.length,
      bucket: first.bucket,
      key: first.key,
      error: first.error,
    });
  }
  return { deleted, failed: failures.length };
}
