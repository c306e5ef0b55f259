/**
 * Migrations are imported modules rather than files knex finds on disk, so they ship inside each
 * function's bundle and run the same from a checkout, a test or a deployed function.
 */
import type { Knex } from 'knex';
import * as m001 from './migrations/001_core';
import * as m002 from './migrations/002_outbox_schedule';
import * as m003 from './migrations/003_job_stage_metadata';
import * as m004 from './migrations/004_webhooks';
import * as m006 from './migrations/006_webhook_delivery_lease';
import * as m007 from './migrations/007_batches_priority_cancel';
import * as m008 from './migrations/008_uploads';
import * as m009 from './migrations/009_usage';
import * as m010 from './migrations/010_support_login';
import * as m011 from './migrations/011_metrics_indexes';
import * as m012 from './migrations/012_alert_notifications';
import * as m013 from './migrations/013_retention';
import * as m014 from './migrations/014_secret_rotations';
import * as m015 from './migrations/015_upload_inspection';
import * as m016 from './migrations/016_bus_dead_letters';
import * as m017 from './migrations/017_batch_idempotency';

const MIGRATIONS: Record<string, Knex.Migration> = {
  '001_core': m001,
  '002_outbox_schedule': m002,
  '003_job_stage_metadata': m003,
  '004_webhooks': m004,
  '006_webhook_delivery_lease': m006,
  '007_batches_priority_cancel': m007,
  '008_uploads': m008,
  '009_usage': m009,
  '010_support_login': m010,
  '011_metrics_indexes': m011,
  '012_alert_notifications': m012,
  '013_retention': m013,
  '014_secret_rotations': m014,
  '015_upload_inspection': m015,
  '016_bus_dead_letters': m016,
  '017_batch_idempotency': m017,
};

/** Every migration of this code, in the order they apply. */
export const migrationNames = (): string[] => Object.keys(MIGRATIONS).sort();

const source: Knex.MigrationSource<string> = {
  getMigrations: async () => migrationNames(),
  getMigrationName: (name) => name,
  getMigration: async (name) => {
    const migration = MIGRATIONS[name];
    if (!migration) throw new Error(`unknown migration ${name}`);
    return migration;
  },
};

export async function migrateLatest(k: Knex): Promise<string[]> {
  const [, applied] = (await k.migrate.latest({ migrationSource: source })) as [number, string[]];
  return applied;
}

/**
 * The migrations of this code that the database has not recorded as applied, in order. One read
 * of knex's own table, where knex's `migrate.list` would first create that table if it lacked it:
 * a probe must change nothing. A database never migrated has every migration pending.
 */
export async function pendingMigrations(k: Knex, timeoutMs: number): Promise<string[]> {
  let applied: { name: string }[];
  try {
    applied = await k('knex_migrations').select('name').timeout(timeoutMs);
  } catch (err) {
    if ((err as { code?: string }).code !== '42P01') throw err; // undefined_table
    applied = [];
  }
  const recorded = new Set(applied.map((m) => m.name));
  return migrationNames().filter((name) => !recorded.has(name));
}
