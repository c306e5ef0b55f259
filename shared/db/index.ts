/** knex over pg. One pool per process (a function instance), created on first use. */
import type { Knex } from 'knex';
import { config, ConfigError } from '../config';
import { logger } from '../log';
import { onShutdown } from '../lifecycle/shutdown';
import { runtimeSecret } from '../secrets';
import { rotatingPgClient, type UrlSource } from './credentials';

function databaseUrl(): string {
  const url = config().DATABASE_URL;
  if (!url) throw new ConfigError('invalid configuration: DATABASE_URL is required by this function');
  return url;
}

let primary: Knex | undefined;

/** A URL read from its secret at run time, so the pool follows a password rotation (db/credentials.ts). */
export interface RotatingUrl {
  secret: string;
  source: UrlSource;
}

/** The URL in `secret`, starting from `initial` (the environment variable). */
const rotating = (secret: string, initial: string): RotatingUrl => ({ secret, source: runtimeSecret(secret, initial) });

/**
 * A pool whose callers wait at most `acquireTimeoutMs` for a connection: past that the database
 * is saturated, and refusing the request at once (503) beats queueing it until the client gives up.
 */
export function connect(url: string | RotatingUrl, poolMax = 10, acquireTimeoutMs = 10_000): Knex {
  // Loaded on the first connection rather than at import, to keep it out of a cold start's first answer.
  const knex = require('knex') as typeof import('knex').knex;
  const fixed = typeof url === 'string';
  return knex({
    client: fixed ? 'pg' : rotatingPgClient(url.source, url.secret),
    connection: { connectionString: fixed ? url : undefined, application_name: process.env.K_SERVICE ?? 'aiprod' },
    pool: { min: 0, max: poolMax, idleTimeoutMillis: 30_000 },
    acquireConnectionTimeout: acquireTimeoutMs,
    // knex prints to the console by default, with a stack per failed acquire; under overload that
    // is a flood. The request that failed is logged once where it is refused.
    log: {
      warn: (message: unknown) => logger().warn('knex', { detail: String(message) }),
      error: (message: unknown) => logger().debug('knex', { detail: String(message) }),
      deprecate: (method: string, alternative: string) => logger().warn('knex deprecation', { method, alternative }),
      debug: (message: unknown) => logger().debug('knex', { detail: String(message) }),
    },
  });
}

export function db(): Knex {
  const c = config();
  primary ??= connect(rotating('database-url', databaseUrl()), c.DATABASE_POOL_MAX, c.DATABASE_ACQUIRE_TIMEOUT_MS);
  return primary;
}

let replica: Knex | undefined;

/**
 * The pool for reads that tolerate replication lag (a listing, not a read-your-write): the read
 * replica DATABASE_REPLICA_URL names, with the primary's pool settings, or the primary's own pool
 * when there is none. Terraform gives the primary's URL when it runs no replica; that too is the
 * primary's pool, so no instance opens two pools to one server.
 */
export function replicaDb(): Knex {
  const c = config();
  const url = c.DATABASE_REPLICA_URL;
  if (!url || url === c.DATABASE_URL) return db();
  replica ??= connect(rotating('database-replica-url', url), c.DATABASE_POOL_MAX, c.DATABASE_ACQUIRE_TIMEOUT_MS);
  return replica;
}

/** What a pool holds at this moment: connections lent out, idle ones, callers waiting, its size. */
export interface PoolUsage {
  pool: 'primary' | 'replica';
  used: number;
  free: number;
  pendingAcquires: number;
  max: number;
}

/** The usage of the pools this process has opened; reading it never opens one. */
export function poolUsage(): PoolUsage[] {
  const open = [
    ['primary', primary],
    ['replica', replica],
  ] as const;
  return open.flatMap(([name, k]) => {
    const pool = (k?.client as Knex.Client | undefined)?.pool;
    // Ours are knex's own pools (tarn's); a destroyed one has none.
    if (!pool || !('numUsed' in pool)) return [];
    const max = config().DATABASE_POOL_MAX;
    return [
      { pool: name, used: pool.numUsed(), free: pool.numFree(), pendingAcquires: pool.numPendingAcquires(), max },
    ];
  });
}

export async function closeDb(): Promise<void> {
  await Promise.all([primary?.destroy(), replica?.destroy()]);
  primary = undefined;
  replica = undefined;
}

// A stopping instance closes its pools once what it holds is given back and written.
onShutdown('close', closeDb);
