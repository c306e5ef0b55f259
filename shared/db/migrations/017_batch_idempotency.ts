import type { Knex } from 'knex';

/**
 * An `Idempotency-Key` names what its first request made: a job (`job_id`), or now a batch
 * (`batch_id`, POST /pipeline/batch), never both; neither while that request is being written.
 */
export async function up(k: Knex): Promise<void> {
  await k.schema.alterTable('idempotency_keys', (t) => {
    t.uuid('batch_id');
  });
  await k.raw(
    'ALTER TABLE idempotency_keys ADD CONSTRAINT idempotency_keys_one_target CHECK (job_id IS NULL OR batch_id IS NULL)',
  );
}

export async function down(k: Knex): Promise<void> {
  await k.raw('ALTER TABLE idempotency_keys DROP CONSTRAINT IF EXISTS idempotency_keys_one_target');
  await k.schema.alterTable('idempotency_keys', (t) => {
    t.dropColumn('batch_id');
  });
}
