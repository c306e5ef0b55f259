/**
 * Bounded deletes of aged rows, safe to run by several sweeps at once: each batch locks the rows it
 * takes with SKIP LOCKED, so a concurrent sweep takes other rows (or none) instead of waiting for
 * these or deleting them a second time; a row is counted by the one statement that deleted it.
 */
import type { Knex } from 'knex';

/** Rows of one table that have outlived their use. Table, key and condition are this module's constants, never input. */
export interface PurgeSpec {
  table: string;
  /** The column(s) naming a row, e.g. `id` or `tenant_id, key`. */
  key: string;
  /** What makes a row removable, with one `?`: its age limit in seconds. */
  aged: string;
  /** The column the condition's index is on, oldest first. */
  order: string;
}

/** Deletes at most `limit` of the oldest removable rows; the number it deleted. */
export async function purgeBatch(k: Knex, spec: PurgeSpec, olderThanSeconds: number, limit: number): Promise<number> {
  const result: { rowCount: number | null } = await k.raw(
    `DELETE FROM ${spec.table} WHERE (${spec.key}) IN (
       SELECT ${spec.key} FROM ${spec.table} WHERE ${spec.aged}
       ORDER BY ${spec.order} LIMIT ? FOR UPDATE SKIP LOCKED)`,
    [olderThanSeconds, limit],
  );
  return result.rowCount ?? 0;
}

/**
 * Runs `batch` until it comes back short (nothing more is due, or the rest is another sweep's),
 * `maxBatches` times at most, or until `deadline` (epoch ms): so one tick stays short and a backlog
 * drains over the next ticks. Each batch reports how many it took and what it did.
 */
export async function inBatches<T extends { taken: number }>(
  limit: number,
  maxBatches: number,
  deadline: number,
  batch: () => Promise<T>,
): Promise<T[]> {
  const done: T[] = [];
  while (done.length < maxBatches && Date.now() < deadline) {
    const result = await batch();
    done.push(result);
    if (result.taken < limit) break;
  }
  return done;
}
