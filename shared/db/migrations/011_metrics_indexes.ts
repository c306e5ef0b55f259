import type { Knex } from 'knex';

/**
 * What a /metrics scrape reads, every scrape, across all tenants (shared/metrics/system-figures.ts):
 *
 * - the processing times of ended jobs per recipe and status: a partial index of the jobs that
 *   started and ended, carrying both times, so the aggregate reads this narrow index alone
 *   (index-only) rather than every job row with its request and result;
 * - webhook deliveries per state: only the pending ones had an index.
 *
 * Jobs per status (idx_jobs_status) and the waiting jobs per priority (idx_jobs_tenant_waiting,
 * partial on PENDING) have theirs already.
 */
export async function up(k: Knex): Promise<void> {
  await k.raw(
    'CREATE INDEX idx_jobs_ended ON jobs (recipe, status) INCLUDE (started_at, completed_at) WHERE started_at IS NOT NULL AND completed_at IS NOT NULL',
  );
  await k.raw('CREATE INDEX idx_webhook_deliveries_state ON webhook_deliveries (state)');
}

export async function down(k: Knex): Promise<void> {
  await k.raw('DROP INDEX IF EXISTS idx_webhook_deliveries_state');
  await k.raw('DROP INDEX IF EXISTS idx_jobs_ended');
}
