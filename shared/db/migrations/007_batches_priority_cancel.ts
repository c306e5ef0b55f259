import type { Knex } from 'knex';

/**
 * Batches, priorities, fair scheduling and cancel:
 *
 * - `batches`: many jobs submitted in one request. Its status is read from its jobs' statuses;
 *   `completed_at` is set once, by whoever finishes its last job, which is what announces
 *   `batch.completed` exactly once. `cancelled_at` records a cancel of the whole batch.
 * - `jobs.batch_id`, `jobs.batch_index` (the item's place in the request: a batch's jobs share
 *   one creation time), `jobs.priority` (0 low, 1 normal, 2 high): a tenant's waiting jobs run
 *   highest priority first, then oldest first, as slots of its tier's `concurrent_jobs` free up.
 * - `CANCELLED`: a job that will never run (again); `cancelled_at` says when.
 */
export async function up(k: Knex): Promise<void> {
  await k.schema.createTable('batches', (t) => {
    t.uuid('id').primary();
    t.uuid('tenant_id').notNullable().references('tenants.id').onDelete('CASCADE');
    t.smallint('priority').notNullable().defaultTo(1);
    t.jsonb('metadata').notNullable().defaultTo(k.raw("'{}'::jsonb"));
    t.integer('total').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(k.fn.now());
    t.timestamp('cancelled_at', { useTz: true });
    t.timestamp('completed_at', { useTz: true });
  });
  await k.raw('ALTER TABLE batches ADD CONSTRAINT batches_priority_check CHECK (priority BETWEEN 0 AND 2)');
  await k.raw('CREATE INDEX idx_batches_tenant_created ON batches (tenant_id, created_at DESC, id DESC)');

  await k.schema.alterTable('jobs', (t) => {
    t.uuid('batch_id').references('batches.id').onDelete('CASCADE');
    t.integer('batch_index');
    t.smallint('priority').notNullable().defaultTo(1);
    t.timestamp('cancelled_at', { useTz: true });
  });
  await k.raw('ALTER TABLE jobs DROP CONSTRAINT jobs_status_check');
  await k.raw(
    "ALTER TABLE jobs ADD CONSTRAINT jobs_status_check CHECK (status IN ('PENDING', 'PROCESSING', 'COMPLETED', 'FAILED', 'CANCELLED'))",
  );
  await k.raw('ALTER TABLE jobs ADD CONSTRAINT jobs_priority_check CHECK (priority BETWEEN 0 AND 2)');
  // A batch's counts per status, and its jobs in order for the results archive.
  await k.raw('CREATE UNIQUE INDEX idx_jobs_batch ON jobs (batch_id, batch_index) WHERE batch_id IS NOT NULL');
  // A tenant's next waiting job, taken when one of its slots frees up.
  await k.raw(
    "CREATE INDEX idx_jobs_tenant_waiting ON jobs (tenant_id, priority DESC, created_at, batch_index, id) WHERE status = 'PENDING'",
  );
  // How many of a tenant's jobs run now (idx_jobs_tenant_status covers it).
}

export async function down(k: Knex): Promise<void> {
  await k.raw('DROP INDEX IF EXISTS idx_jobs_tenant_waiting');
  await k.raw('DROP INDEX IF EXISTS idx_jobs_batch');
  await k.raw('ALTER TABLE jobs DROP CONSTRAINT IF EXISTS jobs_priority_check');
  await k.raw("DELETE FROM jobs WHERE status = 'CANCELLED'");
  await k.raw('ALTER TABLE jobs DROP CONSTRAINT jobs_status_check');
  await k.raw(
    "ALTER TABLE jobs ADD CONSTRAINT jobs_status_check CHECK (status IN ('PENDING', 'PROCESSING', 'COMPLETED', 'FAILED'))",
  );
  await k.schema.alterTable('jobs', (t) => {
    t.dropColumn('cancelled_at');
    t.dropColumn('priority');
    t.dropColumn('batch_index');
    t.dropColumn('batch_id');
  });
  await k.schema.dropTableIfExists('batches');
}
