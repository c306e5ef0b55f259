import type { Knex } from 'knex';

/**
 * What webhook_deliveries needs to be worked on by many deliverers at once:
 *
 * - A lease: an attempt in flight holds its delivery (who, until when: past the deliverer's
 *   timeout, so a crashed attempt frees it by itself). At most a few deliveries of one webhook hold
 *   one at once (AIPROD_WEBHOOK_MAX_IN_FLIGHT): a slow receiver ties up that many workers and no
 *   more, and the rest of its due deliveries wait for a free slot.
 * - `dispatched_at`: a job-notifications message for the delivery is on its way and not yet taken,
 *   so the maintenance tick does not send another; cleared when a deliverer takes or defers it.
 */
export async function up(k: Knex): Promise<void> {
  await k.schema.alterTable('webhook_deliveries', (t) => {
    t.uuid('lease_owner');
    t.timestamp('lease_expires_at', { useTz: true });
    t.timestamp('dispatched_at', { useTz: true });
  });
  // Counting a webhook's attempts in flight reads only the leased rows (a lease is cleared when it ends).
  await k.raw(
    'CREATE INDEX idx_webhook_deliveries_in_flight ON webhook_deliveries (webhook_id) WHERE lease_expires_at IS NOT NULL',
  );
  // The next due delivery of one webhook, handed on when one of its slots frees up.
  await k.raw(
    "CREATE INDEX idx_webhook_deliveries_webhook_due ON webhook_deliveries (webhook_id, next_attempt_at) WHERE state = 'pending'",
  );
}

export async function down(k: Knex): Promise<void> {
  await k.raw('DROP INDEX IF EXISTS idx_webhook_deliveries_webhook_due');
  await k.raw('DROP INDEX IF EXISTS idx_webhook_deliveries_in_flight');
  await k.schema.alterTable('webhook_deliveries', (t) => {
    t.dropColumn('dispatched_at');
    t.dropColumn('lease_expires_at');
    t.dropColumn('lease_owner');
  });
}
