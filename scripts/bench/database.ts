/**
 * The database side of `npm run bench:submit` and `npm run loadtest`: the stack's own database
 * (DATABASE_URL, or the embedded server the stack started on its data dir), the run's tenants and
 * keys in it, and the bare baseline's scratch table; and the undoing of all of it.
 */
import type { Knex } from 'knex';
import { createApiKey, type Tier } from '../../shared/auth/api-keys';
import { connect } from '../../shared/db';
import { startLocalPostgres } from '../../shared/db/embedded';
import { migrateLatest } from '../../shared/db/migrate';

export const SCRATCH_TABLE = 'bench_submit_bare';

/** A run's tenants: named `<prefix>001`, ..., so that they can be found again and deleted. */
export interface TenantSet {
  prefix: string;
  /** The keys' label, naming the command that made them. */
  label: string;
  /** The tier of tenant number i (from 1). */
  tierOf: (i: number) => Tier;
}

export const SUBMIT_BENCH_TENANTS: TenantSet = {
  prefix: 'bench-submit-',
  label: 'bench:submit',
  tierOf: () => 'enterprise',
};

/**
 * A connection to the database the running stack serves. Without DATABASE_URL that is the
 * embedded server the stack started: startLocalPostgres finds it on the data dir instead of
 * starting another one. Migrated (a no-op: the stack has migrated already).
 */
export async function openDatabase(
  externalUrl: string | undefined,
  dataDir: string,
): Promise<{ url: string; k: Knex }> {
  let url = externalUrl;
  if (!url) {
    const pg = await startLocalPostgres(dataDir);
    if (pg.owned) {
      await pg.stop();
      throw new Error(`the stack's PostgreSQL server was not found on ${dataDir}`);
    }
    url = pg.url;
  }
  const k = connect(url, 4);
  await migrateLatest(k);
  return { url, k };
}

/**
 * `count` tenants with one fresh key each. Many tenants, because the tier limits are per tenant
 * and per minute: spread over enough of them, they are not what is measured.
 */
export async function createTenants(k: Knex, count: number, set = SUBMIT_BENCH_TENANTS): Promise<string[]> {
  const keys: string[] = [];
  for (let i = 1; i <= count; i++) {
    const name = `${set.prefix}${String(i).padStart(3, '0')}`;
    const { key } = await createApiKey(k, { name, tier: set.tierOf(i) }, set.label);
    keys.push(key);
  }
  return keys;
}

/**
 * Removes a run's tenants, before it (what a killed run left) and after it: their jobs, keys
 * and idempotency keys go with them (ON DELETE CASCADE), and their queued messages, which name the
 * tenant in their attributes, are deleted too, so that no worker started later on this database
 * picks up thousands of jobs nobody wants, and runs do not pile rows up in the tables measured.
 */
export async function deleteTenants(k: Knex, set = SUBMIT_BENCH_TENANTS): Promise<number> {
  const ids = (await k('tenants').where('name', 'like', `${set.prefix}%`).pluck('id')) as string[];
  if (ids.length === 0) return 0;
  for (const table of ['bus_messages', 'outbox']) {
    await k(table).whereRaw("attributes->>'tenant_id' = ANY(?::text[])", [ids]).del();
  }
  await k('tenants').whereIn('id', ids).del();
  return ids.length;
}

/** The baseline's table: a UUID and the JSON body, as a job row at its simplest. */
export async function createScratchTable(k: Knex): Promise<void> {
  await k.schema.dropTableIfExists(SCRATCH_TABLE);
  await k.schema.createTable(SCRATCH_TABLE, (t) => {
    t.uuid('id').primary();
    t.jsonb('body').notNullable();
  });
}

export async function dropScratchTable(k: Knex): Promise<void> {
  await k.schema.dropTableIfExists(SCRATCH_TABLE);
}

export async function serverVersion(k: Knex): Promise<string> {
  const result = (await k.raw('SHOW server_version')) as { rows: { server_version: string }[] };
  return result.rows[0]?.server_version ?? 'unknown';
}
