import type { Knex } from 'knex';

/**
 * Dead-lettered local bus rows are kept as long as a Pub/Sub dead-letter subscription keeps its
 * messages, then the sweeper deletes them, oldest first (maintenance/retention.ts): this index
 * finds them without reading the rows still in flight.
 */
export async function up(k: Knex): Promise<void> {
  await k.raw(
    'CREATE INDEX idx_bus_dead_lettered ON bus_messages (dead_lettered_at) WHERE dead_lettered_at IS NOT NULL',
  );
}

export async function down(k: Knex): Promise<void> {
  await k.raw('DROP INDEX IF EXISTS idx_bus_dead_lettered');
}
