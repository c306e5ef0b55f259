import type { Knex } from 'knex';

/**
 * Usage metering:
 *
 * - `usage_daily`: a tenant's calls of one endpoint (`METHOD /path` as the manifest declares it)
 *   on one UTC day, and what they cost in millionths of the currency unit. Instances add their
 *   counts in batches with one upsert on the primary key (shared/usage/meter.ts), which also serves
 *   GET /usage's range scan of one tenant.
 * - The media seconds GET /usage reports come from a tenant's completed jobs by completion time;
 *   a partial index keeps that a range scan, however many jobs a tenant has.
 */
export async function up(k: Knex): Promise<void> {
  await k.schema.createTable('usage_daily', (t) => {
    t.uuid('tenant_id').notNullable().references('tenants.id').onDelete('CASCADE');
    t.date('day').notNullable();
    t.text('endpoint').notNullable();
    t.bigInteger('calls').notNullable();
    t.bigInteger('cost_micros').notNullable();
    t.primary(['tenant_id', 'day', 'endpoint']);
  });
  await k.raw("CREATE INDEX idx_jobs_tenant_completed ON jobs (tenant_id, completed_at) WHERE status = 'COMPLETED'");
}

export async function down(k: Knex): Promise<void> {
  await k.raw('DROP INDEX IF EXISTS idx_jobs_tenant_completed');
  await k.schema.dropTableIfExists('usage_daily');
}
