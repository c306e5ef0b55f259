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
};

const source: Knex.MigrationSource<string> = {
  getMigrations: async () => Object.keys(MIGRATIONS).sort(),
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
