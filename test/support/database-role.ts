/**
 * A login role of the test's own, standing for the application user whose password a rotation
 * changes (the superuser the tests connect as is never altered). It may use every table and
 * sequence of the test database, as the application user does; dropped with `drop()`.
 */
import { randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import { connect } from '../../shared/db';

export interface TestRole {
  name: string;
  password: string;
  url: string;
  drop(): Promise<void>;
}

export function withCredentials(url: string, user: string, password: string): string {
  const u = new URL(url);
  u.username = user;
  u.password = password;
  return u.toString();
}

export async function createLoginRole(admin: Knex, databaseUrl: string): Promise<TestRole> {
  const name = `aiprod_app_${randomBytes(4).toString('hex')}`;
  const password = randomBytes(12).toString('hex');
  const database = new URL(databaseUrl).pathname.slice(1);
  await admin.raw(`CREATE ROLE ${name} LOGIN PASSWORD '${password}'`);
  await admin.raw(`GRANT CONNECT ON DATABASE ${database} TO ${name}`);
  await admin.raw(`GRANT USAGE ON SCHEMA public TO ${name}`);
  await admin.raw(`GRANT ALL ON ALL TABLES IN SCHEMA public TO ${name}`);
  await admin.raw(`GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO ${name}`);
  return {
    name,
    password,
    url: withCredentials(databaseUrl, name, password),
    async drop() {
      await admin.raw(`DROP OWNED BY ${name}`);
      await admin.raw(`DROP ROLE IF EXISTS ${name}`);
    },
  };
}

/**
 * Fails, saying why, when the server lets a wrong password in (trust authentication): what these
 * tests prove needs a server that checks passwords, as the embedded default and Cloud SQL do.
 */
export async function assertPasswordsChecked(role: TestRole): Promise<void> {
  const wrong = connect(withCredentials(role.url, role.name, `${role.password}-wrong`), 1);
  try {
    const accepted = await wrong.raw('SELECT 1').then(
      () => true,
      (err: { code?: string }) => err.code !== '28P01' && Promise.reject(err),
    );
    if (accepted) {
      throw new Error(
        'the test database accepts any password (trust authentication): run these tests with DATABASE_URL unset (the embedded server checks passwords)',
      );
    }
  } finally {
    await wrong.destroy();
  }
}
