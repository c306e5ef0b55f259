/**
 * Transactional outbox: a message is written in the same transaction as the state change it
 * announces, then published after commit. A row that fails to publish stays unpublished and the
 * sweeper publishes it later, so a crash between commit and publish loses nothing.
 */
import type { Knex } from 'knex';
import { logger } from '../log';
import type { Transport } from './transport';

export async function enqueue(
  trx: Knex | Knex.Transaction,
  topic: string,
  payload: unknown,
  attributes: Record<string, string> = {},
): Promise<number> {
  const [row] = await trx('outbox')
    .insert({ topic, payload: JSON.stringify(payload), attributes })
    .returning(['id']);
  return Number(row.id);
}

/**
 * Publishes the given outbox rows (or, without ids, every row unpublished for `olderThanSeconds`).
 * Rows are locked while they are published, so two publishers never send the same row at once.
 * Returns how many rows were published.
 */
export async function publishOutbox(
  k: Knex,
  transport: Transport,
  opts: { ids?: number[]; olderThanSeconds?: number; limit?: number } = {},
): Promise<number> {
  return k.transaction(async (trx) => {
    const q = trx('outbox')
      .whereNull('published_at')
      .orderBy('id')
      .limit(opts.limit ?? 100)
      .forUpdate()
      .skipLocked();
    if (opts.ids) q.whereIn('id', opts.ids);
    else q.where('created_at', '<', trx.raw(`now() - make_interval(secs => ?)`, [opts.olderThanSeconds ?? 0]));
    const rows: { id: string; topic: string; payload: unknown; attributes: Record<string, string> }[] = await q;
    let published = 0;
    for (const row of rows) {
      try {
        await transport.publish(row.topic, row.payload, { ...row.attributes, outbox_id: String(row.id) });
        await trx('outbox')
          .where({ id: row.id })
          .update({ published_at: trx.fn.now(), attempts: trx.raw('attempts + 1') });
        published++;
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        logger().warn('outbox publish failed', { outboxId: row.id, topic: row.topic, error: message });
        await trx('outbox')
          .where({ id: row.id })
          .update({ attempts: trx.raw('attempts + 1'), last_error: message.slice(0, 500) });
      }
    }
    return published;
  });
}
