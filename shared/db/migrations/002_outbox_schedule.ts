import type { Knex } from 'knex';

/**
 * The outbox gets a schedule: a row is due for (re)publishing at `next_attempt_at`. Its writer
 * sets it a grace period ahead, which is the writer's claim while it publishes after commit; the
 * sweeper claims due rows by pushing the time forward in one statement, so no publisher holds a
 * row lock (or a connection) while it waits for the broker.
 */
export async function up(k: Knex): Promise<void> {
  await k.schema.alterTable('outbox', (t) => {
    t.timestamp('next_attempt_at', { useTz: true }).notNullable().defaultTo(k.fn.now());
  });
  await k.raw('DROP INDEX IF EXISTS idx_outbox_unpublished');
  await k.raw('CREATE INDEX idx_outbox_due ON outbox (next_attempt_at) WHERE published_at IS NULL');
}

export async function down(k: Knex): Promise<void> {
  await k.raw('DROP INDEX IF EXISTS idx_outbox_due');
  await k.schema.alterTable('outbox', (t) => t.dropColumn('next_attempt_at'));
  await k.raw('CREATE INDEX idx_outbox_unpublished ON outbox (created_at) WHERE published_at IS NULL');
}
