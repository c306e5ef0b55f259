/**
 * A pool whose database URL can change under it: the secret-rotator sets a new password on the
 * role and adds a new version of the URL's secret. Connections already open stay authenticated;
 * a new one is opened with the URL the secret holds now (re-read once per TTL), and one refused
 * for its password (SQLSTATE 28P01: this instance still had the old URL, or the role had not got
 * the new password yet) re-reads the secret and tries again, so the caller never sees the rotation.
 */
import type { Knex } from 'knex';
import { logger } from '../log';

/** Where a pool gets its URL: a secret read at run time (secrets/cached.ts). */
export interface UrlSource {
  get(): Promise<string>;
  /** The URLs worth trying after a refusal: the newest version, and the one before it while enabled. */
  candidates(): Promise<string[]>;
}

/** invalid_password: the role exists and its password is not the one sent. */
export const isInvalidPassword = (err: unknown): boolean => (err as { code?: unknown } | null)?.code === '28P01';

/**
 * Attempts of one new connection refused for its password. After a refusal the secret is re-read
 * and the URLs not yet tried go first: the newest version (another instance rotated it), then the
 * one before (a rotation has added the new URL and not yet set the password). When every one is
 * refused, a pause and another round: a read replica may still be replaying the password change.
 * No retry starts past REFUSED_BUDGET_MS, so the refusal itself reaches the caller well within
 * DATABASE_ACQUIRE_TIMEOUT_MS's default second (past it, the caller would see a busy pool instead).
 */
const REFUSED_ATTEMPTS = 6;
const REFUSED_PAUSE_MS = 100;
const REFUSED_BUDGET_MS = 600;

interface PgClient {
  connectionSettings: Record<string, unknown>;
  acquireRawConnection(): Promise<unknown>;
}
type PgClientClass = new (config: Knex.Config) => PgClient;

/** knex's PostgreSQL client, each new connection taking its URL from `source`. */
export function rotatingPgClient(source: UrlSource, pool: string): typeof Knex.Client {
  const Base = require('knex/lib/dialects/postgres') as PgClientClass;
  class RotatingPgClient extends Base {
    override async acquireRawConnection(): Promise<unknown> {
      const started = Date.now();
      let url = await source.get();
      let tried = new Set<string>();
      let pauses = 0;
      for (let attempt = 1; ; attempt++) {
        tried.add(url);
        // The base class reads the settings synchronously as it starts connecting, so concurrent
        // connections each get the URL set just before.
        this.connectionSettings = { ...this.connectionSettings, connectionString: url };
        try {
          const connection = await super.acquireRawConnection();
          if (attempt > 1) logger().info('database password refreshed', { pool, attempts: attempt });
          return connection;
        } catch (err) {
          if (!isInvalidPassword(err) || attempt >= REFUSED_ATTEMPTS || Date.now() - started > REFUSED_BUDGET_MS) {
            throw err;
          }
          let next = (await source.candidates()).find((u) => !tried.has(u));
          if (!next) {
            await new Promise((resolve) => setTimeout(resolve, REFUSED_PAUSE_MS * ++pauses));
            tried = new Set();
            next = (await source.candidates())[0] ?? url;
          }
          url = next;
        }
      }
    }
  }
  return RotatingPgClient as unknown as typeof Knex.Client;
}
