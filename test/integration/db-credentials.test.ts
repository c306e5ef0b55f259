/**
 * The pool follows a password rotation it was not told about: on a real PostgreSQL that checks
 * passwords, a new connection refused with 28P01 re-reads `database-url` from the secret store and
 * connects with the new URL; connections already open keep working.
 */
import type { Knex } from 'knex';
import { resetConfig } from '../../shared/config';
import { closeDb, connect, db } from '../../shared/db';
import { resetPlatform } from '../../shared/platform';
import { secretStore } from '../../shared/secrets';
import { closeTestEnv, useTestEnv, type TestEnv } from '../support/database';
import { assertPasswordsChecked, createLoginRole, withCredentials, type TestRole } from '../support/database-role';

let env: TestEnv;
let admin: Knex;
let role: TestRole;

beforeAll(async () => {
  env = await useTestEnv();
  admin = connect(env.url, 1);
  role = await createLoginRole(admin, env.url);
  await assertPasswordsChecked(role);
  // The functions connect as the role, as they connect as the application user in the cloud.
  await closeDb();
  process.env.DATABASE_URL = role.url;
  resetConfig();
  resetPlatform();
});

afterAll(async () => {
  await closeTestEnv();
  await role.drop();
  await admin.destroy();
});

const refused = (url: string): Promise<string | undefined> => {
  const k = connect(url, 1);
  return k
    .raw('SELECT 1')
    .then(
      () => undefined,
      (err: { code?: string }) => err.code,
    )
    .finally(() => k.destroy());
};

test('a password changed elsewhere: open connections carry on, new ones use the URL the store holds now', async () => {
  const pool = db();
  await expect(pool.raw('SELECT current_user AS u')).resolves.toMatchObject({ rows: [{ u: role.name }] });

  await pool.transaction(async (trx) => {
    // This connection was authenticated before the change; it stays usable.
    await trx.raw('SELECT 1');
    const newPassword = `${role.password}-rotated`;
    await admin.raw(`ALTER ROLE ${role.name} PASSWORD '${newPassword}'`);
    await secretStore().addVersion('database-url', withCredentials(role.url, role.name, newPassword));

    // The transaction holds the only open connection, so this query needs a new one. The pool's
    // URL (the environment's, its TTL not over) is refused; the store's new version is not.
    await expect(pool.raw('SELECT current_user AS u')).resolves.toMatchObject({ rows: [{ u: role.name }] });
    await expect(trx.raw('SELECT current_user AS u')).resolves.toMatchObject({ rows: [{ u: role.name }] });
  });
  expect(await refused(role.url)).toBe('28P01');
});

test('a password no version in the store knows still fails, after a bounded number of attempts', async () => {
  const pool = db();
  await admin.raw(`ALTER ROLE ${role.name} PASSWORD 'nobody-knows-this-one'`);
  // Drop the idle connections, so the next query has to open one.
  await closeDb();
  const started = Date.now();
  await expect(db().raw('SELECT 1')).rejects.toMatchObject({ code: '28P01' });
  expect(Date.now() - started).toBeLessThan(30_000);
  expect(pool).not.toBe(db());
});
