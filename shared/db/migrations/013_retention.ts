import type { Knex } from 'knex';

/**
 * Retention (shared/maintenance/retention.ts): the maintenance tick removes what has outlived its
 * use, a bounded batch at a time, oldest first.
 *
 * - `jobs.expired_at`: when the job's output was deleted and its request cleared, AIPROD_RETENTION_DAYS
 *   after it ended. The row stays: GET /usage counts media seconds from it and a problem report may
 *   name it; GET /pipeline/{id}/result answers 410 `result_expired` from then on.
 * - One index per step, so each finds its oldest rows without reading the table: the ended jobs not
 *   yet expired, idempotency keys, published outbox rows, delivered bus rows, ended webhook
 *   deliveries, login tokens, uploads.
 */
export async function up(k: Knex): Promise<void> {
  await k.schema.alterTable('jobs', (t) => {
    t.timestamp('expired_at', { useTz: true });
  });
  await k.raw(
    'CREATE INDEX idx_jobs_retention ON jobs (completed_at) WHERE expired_at IS NULL AND completed_at IS NOT NULL',
  );
  await k.raw('CREATE INDEX idx_idempotency_keys_created ON idempotency_keys (created_at)');
  await k.raw('CREATE INDEX idx_outbox_published ON outbox (published_at) WHERE published_at IS NOT NULL');
  await k.raw('CREATE INDEX idx_bus_delivered ON bus_messages (delivered_at) WHERE delivered_at IS NOT NULL');
  await k.raw("CREATE INDEX idx_webhook_deliveries_ended ON webhook_deliveries (created_at) WHERE state <> 'pending'");
  await k.raw('CREATE INDEX idx_api_keys_login_expiry ON api_keys (expires_at) WHERE user_uid IS NOT NULL');
  await k.raw('CREATE INDEX idx_uploads_created ON uploads (created_at)');
}

export async function down(k: Knex): Promise<void> {
  for (const index of [
    'idx_uploads_created',
    'idx_api_keys_login_expiry',
    'idx_webhook_deliveries_ended',
    'idx_bus_delivered',
    'idx_outbox_published',
    'idx_idempotency_keys_created',
    'idx_jobs_retention',
  ]) {
    await k.raw(`DROP INDEX IF EXISTS ${index}`);
  }
  await k.schema.alterTable('jobs', (t) => t.dropColumn('expired_at'));
}
