/**
 * One PostgreSQL for the whole run: DATABASE_URL when set, else an embedded server in a temp dir
 * (what a fresh machine has). A migrated template database is made once; each test file clones
 * it (test/support/database.ts), so files never see each other's rows.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '../../shared/db';
import { startLocalPostgres } from '../../shared/db/embedded';
import { migrateLatest } from '../../shared/db/migrate';
import { TEMPLATE_DB, withDatabaseName } from './names';

export default async function globalSetup(): Promise<void> {
  let baseUrl = process.env.DATABASE_URL;
  if (!baseUrl) {
    const dir = mkdtempSync(join(tmpdir(), 'aiprod-test-pg-'));
    const pg = await startLocalPostgres(dir, 'postgres');
    (globalThis as { __AIPROD_PG__?: typeof pg }).__AIPROD_PG__ = pg;
    baseUrl = pg.url;
  }
  process.env.AIPROD_TEST_BASE_URL = baseUrl;
  const admin = connect(withDatabaseName(baseUrl, 'postgres'), 1);
  try {
    const stale = await admin.raw(`SELECT datname FROM pg_database WHERE datname LIKE 'aiprod_t%'`);
    for (const { datname } of stale.rows) await admin.raw(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
    await admin.raw(`CREATE DATABASE ${TEMPLATE_DB}`);
  } finally {
    await admin.destroy();
  }
  const template = connect(withDatabaseName(baseUrl, TEMPLATE_DB), 1);
  try {
    await migrateLatest(template);
  } finally {
    await template.destroy();
  }
}
