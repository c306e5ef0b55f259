import type { Knex } from 'knex';

/**
 * Support reports and sign-in:
 *
 * - `bug_reports`: a partner's problem report, optionally about one of its jobs, with a status
 *   an operator moves (`open` -> `acknowledged` -> `resolved`); `bug_comments`: the thread under
 *   it, written by the partner over the API or by an operator from the tenant CLI.
 * - `tenant_users`: which tenant an Identity Platform user (its uid) signs in to; a uid belongs
 *   to one tenant, hence the primary key.
 * - `api_keys.expires_at`, `api_keys.user_uid`: the API tokens POST /auth/login issues are API
 *   keys with an end, tied to the user they were issued to (gone with the user's mapping).
 */
export async function up(k: Knex): Promise<void> {
  await k.schema.createTable('bug_reports', (t) => {
    t.uuid('id').primary();
    t.uuid('tenant_id').notNullable().references('tenants.id').onDelete('CASCADE');
    // A report outlives the job it is about.
    t.uuid('job_id').references('jobs.id').onDelete('SET NULL');
    t.text('title').notNullable();
    t.text('description').notNullable();
    t.jsonb('steps').notNullable().defaultTo(k.raw("'[]'::jsonb"));
    t.text('environment');
    t.text('status')
      .notNullable()
      .defaultTo('open')
      .checkIn(['open', 'acknowledged', 'resolved'], 'bug_reports_status_check');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(k.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(k.fn.now());
  });
  // Keyset pagination of a tenant's reports, newest first, with and without the status filter.
  await k.raw('CREATE INDEX idx_bug_reports_tenant_created ON bug_reports (tenant_id, created_at DESC, id DESC)');
  await k.raw(
    'CREATE INDEX idx_bug_reports_tenant_status_created ON bug_reports (tenant_id, status, created_at DESC, id DESC)',
  );
  // Operators look at what is still open across tenants.
  await k.raw('CREATE INDEX idx_bug_reports_status_created ON bug_reports (status, created_at DESC)');

  await k.schema.createTable('bug_comments', (t) => {
    t.uuid('id').primary();
    t.uuid('bug_id').notNullable().references('bug_reports.id').onDelete('CASCADE');
    t.text('author').notNullable().checkIn(['partner', 'operator'], 'bug_comments_author_check');
    t.text('body').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(k.fn.now());
  });
  await k.raw('CREATE INDEX idx_bug_comments_bug ON bug_comments (bug_id, created_at, id)');

  await k.schema.createTable('tenant_users', (t) => {
    t.text('uid').primary();
    t.uuid('tenant_id').notNullable().references('tenants.id').onDelete('CASCADE');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(k.fn.now());
    t.index(['tenant_id'], 'idx_tenant_users_tenant');
  });

  await k.schema.alterTable('api_keys', (t) => {
    t.timestamp('expires_at', { useTz: true });
    t.text('user_uid').references('tenant_users.uid').onDelete('CASCADE');
  });
  // A login's tokens are found by user, to drop the ones that have expired.
  await k.raw('CREATE INDEX idx_api_keys_user ON api_keys (user_uid) WHERE user_uid IS NOT NULL');
  await k.raw(
    'ALTER TABLE api_keys ADD CONSTRAINT api_keys_user_expires_check CHECK (user_uid IS NULL OR expires_at IS NOT NULL)',
  );
}

export async function down(k: Knex): Promise<void> {
  await k.raw('ALTER TABLE api_keys DROP CONSTRAINT IF EXISTS api_keys_user_expires_check');
  await k.raw('DROP INDEX IF EXISTS idx_api_keys_user');
  // Without their end, login tokens would become keys that never expire.
  await k('api_keys').whereNotNull('expires_at').delete();
  await k.schema.alterTable('api_keys', (t) => {
    t.dropColumn('user_uid');
    t.dropColumn('expires_at');
  });
  for (const table of ['tenant_users', 'bug_comments', 'bug_reports']) await k.schema.dropTableIfExists(table);
}
