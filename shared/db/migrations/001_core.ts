import type { Knex } from 'knex';

export async function up(k: Knex): Promise<void> {
  await k.raw('CREATE EXTENSION IF NOT EXISTS pgcrypto');

  await k.schema.createTable('tenants', (t) => {
    t.uuid('id').primary().defaultTo(k.raw('gen_random_uuid()'));
    t.text('name').notNullable().unique();
    t.text('tier').notNullable().checkIn(['free', 'pro', 'enterprise'], 'tenants_tier_check');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(k.fn.now());
  });

  await k.schema.createTable('api_keys', (t) => {
    t.uuid('id').primary().defaultTo(k.raw('gen_random_uuid()'));
    t.uuid('tenant_id').notNullable().references('tenants.id').onDelete('CASCADE');
    // The public half of the key, used to find the row; the secret half is only ever stored hashed.
    t.text('lookup').notNullable().unique();
    t.binary('secret_hash').notNullable();
    t.text('label');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(k.fn.now());
    t.timestamp('last_used_at', { useTz: true });
    t.timestamp('revoked_at', { useTz: true });
    t.index(['tenant_id'], 'idx_api_keys_tenant');
  });

  await k.schema.createTable('jobs', (t) => {
    t.uuid('id').primary();
    t.uuid('tenant_id').notNullable().references('tenants.id').onDelete('CASCADE');
    t.text('status').notNullable().checkIn(['PENDING', 'PROCESSING', 'COMPLETED', 'FAILED'], 'jobs_status_check');
    t.text('recipe').notNullable().defaultTo('dub');
    t.jsonb('request').notNullable();
    t.smallint('progress').notNullable().defaultTo(0);
    t.integer('attempts').notNullable().defaultTo(0);
    t.text('lease_owner');
    t.timestamp('lease_expires_at', { useTz: true });
    t.text('error_code');
    t.text('error_message');
    t.jsonb('result');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(k.fn.now());
    t.timestamp('started_at', { useTz: true });
    t.timestamp('completed_at', { useTz: true });
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(k.fn.now());
  });
  await k.raw('CREATE INDEX idx_jobs_status ON jobs (status)');
  await k.raw('CREATE INDEX idx_jobs_created_at ON jobs (created_at DESC)');
  await k.raw('CREATE INDEX idx_jobs_tenant_status ON jobs (tenant_id, status)');
  // Keyset pagination of a tenant's jobs, newest first, with the id as tie-breaker.
  await k.raw('CREATE INDEX idx_jobs_tenant_created ON jobs (tenant_id, created_at DESC, id DESC)');
  // The sweeper looks only at running jobs whose lease may have lapsed.
  await k.raw("CREATE INDEX idx_jobs_lease ON jobs (lease_expires_at) WHERE status = 'PROCESSING'");

  await k.schema.createTable('idempotency_keys', (t) => {
    t.uuid('tenant_id').notNullable().references('tenants.id').onDelete('CASCADE');
    t.text('key').notNullable();
    t.text('fingerprint').notNullable();
    t.uuid('job_id');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(k.fn.now());
    t.primary(['tenant_id', 'key']);
  });

  await k.schema.createTable('outbox', (t) => {
    t.bigIncrements('id');
    t.text('topic').notNullable();
    t.jsonb('payload').notNullable();
    t.jsonb('attributes').notNullable().defaultTo('{}');
    t.integer('attempts').notNullable().defaultTo(0);
    t.text('last_error');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(k.fn.now());
    t.timestamp('published_at', { useTz: true });
  });
  await k.raw('CREATE INDEX idx_outbox_unpublished ON outbox (created_at) WHERE published_at IS NULL');

  // The local push bus (embedded default only): one row per message per subscription, the same
  // at-least-once contract as a Pub/Sub push subscription, dead-lettered after the last attempt.
  await k.schema.createTable('bus_messages', (t) => {
    t.bigIncrements('id');
    t.text('subscription').notNullable();
    t.text('topic').notNullable();
    t.text('data').notNullable();
    t.jsonb('attributes').notNullable().defaultTo('{}');
    t.integer('attempts').notNullable().defaultTo(0);
    t.timestamp('next_attempt_at', { useTz: true }).notNullable().defaultTo(k.fn.now());
    t.text('last_error');
    t.timestamp('published_at', { useTz: true }).notNullable().defaultTo(k.fn.now());
    t.timestamp('delivered_at', { useTz: true });
    t.timestamp('dead_lettered_at', { useTz: true });
  });
  await k.raw(
    'CREATE INDEX idx_bus_due ON bus_messages (next_attempt_at) WHERE delivered_at IS NULL AND dead_lettered_at IS NULL',
  );
}

export async function down(k: Knex): Promise<void> {
  for (const table of ['bus_messages', 'outbox', 'idempotency_keys', 'jobs', 'api_keys', 'tenants']) {
    await k.schema.dropTableIfExists(table);
  }
}
