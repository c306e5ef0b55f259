/** knex over pg. One pool per process (a function instance), created on first use. */
import knex, { Knex } from 'knex';
import { config, ConfigError } from '../config';

function databaseUrl(): string {
  const url = config().DATABASE_URL;
  if (!url) throw new ConfigError('invalid configuration: DATABASE_URL is required by this function');
  return url;
}

let primary: Knex | undefined;

export function connect(url: string, poolMax = 10): Knex {
  return knex({
    client: 'pg',
    connection: { connectionString: url, application_name: process.env.K_SERVICE ?? 'aiprod' },
    pool: { min: 0, max: poolMax, idleTimeoutMillis: 30_000 },
    acquireConnectionTimeout: 10_000,
  });
}

export function db(): Knex {
  primary ??= connect(databaseUrl(), config().DATABASE_POOL_MAX);
  return primary;
}

export async function closeDb(): Promise<void> {
  await primary?.destroy();
  primary = undefined;
}
