/**
 * For the admin scripts: the database `npm start` uses (DATABASE_URL, or the embedded server under
 * the data dir, reused when it is already running), migrated, for the length of `work`.
 */
import { resolve } from 'node:path';
import type { Knex } from 'knex';
import { connect } from '../shared/db';
import { startLocalPostgres } from '../shared/db/embedded';
import { migrateLatest } from '../shared/db/migrate';

export async function withDatabase<T>(work: (k: Knex) => Promise<T>): Promise<T> {
  const pg = process.env.DATABASE_URL
    ? undefined
    : await startLocalPostgres(resolve(process.env.AIPROD_DATA_DIR ?? '.aiprod'));
  const k = connect(process.env.DATABASE_URL ?? pg!.url, 2);
  try {
    await migrateLatest(k);
    return await work(k);
  } finally {
    await k.destroy();
    if (pg?.owned) await pg.stop();
  }
}
