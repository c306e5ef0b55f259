/**
 * What each health probe checks (shared/api/health.ts answers them):
 * - `startup`: the configuration parses and the database has every migration of this code applied;
 * - `live`: nothing but the process answering, so a dependency's outage never restarts instances;
 * - `ready`: the database, Redis when REDIS_URL is set, and the bus (the local bus's table, or
 *   Pub/Sub on Google Cloud).
 * Each check takes its own pooled connection for one statement, never one while waiting for another.
 */
import { redis } from '../cache/redis';
import { config, ConfigError, parseConfig } from '../config';
import { db } from '../db';
import { pendingMigrations } from '../db/migrate';
import { transport } from '../platform';
import { CheckFailed, type Check } from './checks';

export const PROBES = ['startup', 'live', 'ready'] as const;
export type Probe = (typeof PROBES)[number];

/**
 * An invalid configuration ends the process where it is first read (config(), exit 78), and so
 * fails the probe for want of an answer; this says it parsed, naming the variables when not.
 */
const configuration: Check = async () => {
  try {
    parseConfig(process.env);
  } catch (err) {
    throw err instanceof ConfigError ? new CheckFailed(err.message) : err;
  }
};

const migrations: Check = async (timeoutMs) => {
  const pending = await pendingMigrations(db(), timeoutMs);
  if (pending.length > 0) throw new CheckFailed(`${pending.length} pending: ${pending.join(', ')}`);
};

const database: Check = async (timeoutMs) => {
  await db().raw('SELECT 1').timeout(timeoutMs);
};

const cache: Check = async () => {
  // The client's own command timeout (500 ms) is shorter than the probe's.
  await redis()!.ping();
};

const bus: Check = (timeoutMs) => transport().ping(timeoutMs);

export function probeChecks(probe: Probe): Record<string, Check> {
  switch (probe) {
    case 'startup':
      return { configuration, migrations };
    case 'live':
      return {};
    case 'ready':
      return { database, ...(config().REDIS_URL ? { redis: cache } : {}), bus };
  }
}
