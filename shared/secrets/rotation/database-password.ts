/**
 * Rotating the database user's password. PostgreSQL keeps one password per role, so the steps
 * are ordered for a fleet that never stops connecting:
 *
 * 1. add_version: a new random password, as new versions of `database-url` (and of
 *    `database-replica-url`, which carries the same user: a replica replays its primary's roles),
 *    written before the role changes, so the password is never only in this process's memory;
 * 2. set_password: ALTER ROLE CURRENT_USER (the role the URL names) with the new password's SCRAM
 *    verifier. Connections already open stay authenticated; a new one an instance opens with the
 *    old URL is refused (28P01), and its pool re-reads the secret and connects (db/credentials.ts);
 * 3. verify: fresh connections with the new URLs (the replica's retried while it catches up).
 *
 * Later, once the grace period is over: disable_previous disables the versions before. Undone, the
 * role gets its old password back and the old URL becomes the newest enabled version again.
 */
import type { Knex } from 'knex';
import { connect } from '../../db';
import { SecretNotFoundError, type SecretStore } from '../store';
import type { RotationTarget, Step } from './runner';
import { scramVerifier, VERIFIER } from './scram';
import { currentOrSeed, disablePrevious, randomCredential, restorePrevious } from './versions';

export const PRIMARY_URL = 'database-url';
export const REPLICA_URL = 'database-replica-url';

export interface DatabasePasswordOptions {
  /** The rotator's own pool, connected as the role it rotates. */
  k: Knex;
  store: SecretStore;
  /** The URLs this process was started with: the first versions of an empty local store. */
  configured: { primary?: string; replica?: string };
  graceSeconds: number;
  /** How long a read replica may take to accept the new password. */
  replicaWaitMs?: number;
}

const passwordOf = (url: string): string => decodeURIComponent(new URL(url).password);
const userOf = (url: string): string => decodeURIComponent(new URL(url).username);

function withPassword(url: string, password: string): string {
  const u = new URL(url);
  u.password = password;
  return u.toString();
}

/** Why this database's password cannot be rotated here, if it cannot. */
export async function databaseRotationBlocker(k: Knex): Promise<string | undefined> {
  const { rows } = await k.raw<{ rows: { rolsuper: boolean }[] }>(
    'SELECT rolsuper FROM pg_roles WHERE rolname = current_user',
  );
  // The embedded server's bootstrap role: the local tools reach it with a fixed password.
  return rows[0]?.rolsuper ? 'database-url names a superuser role; rotate a dedicated application role' : undefined;
}

async function setRolePassword(k: Knex, url: string): Promise<void> {
  const { rows } = await k.raw<{ rows: { u: string }[] }>('SELECT current_user AS u');
  if (rows[0]?.u !== userOf(url)) throw new Error(`the URL names ${userOf(url)}, not the role connected`);
  const verifier = scramVerifier(passwordOf(url));
  if (!VERIFIER.test(verifier)) throw new Error('not a SCRAM verifier');
  try {
    await k.raw(`ALTER ROLE CURRENT_USER PASSWORD '${verifier}'`);
  } catch (err) {
    // knex puts the statement into its message: only the server's code leaves here.
    throw new Error(`ALTER ROLE was refused (SQLSTATE ${(err as { code?: string }).code ?? 'unknown'})`);
  }
}

async function canConnect(url: string, waitMs: number): Promise<void> {
  const started = Date.now();
  for (let attempt = 1; ; attempt++) {
    const k = connect(url, 1, 5000);
    try {
      await k.raw('SELECT 1');
      return;
    } catch (err) {
      if (Date.now() - started >= waitMs) {
        throw new Error(
          `a new connection with the new password failed (SQLSTATE ${(err as { code?: string }).code ?? 'none'})`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, Math.min(2000, 200 * attempt)));
    } finally {
      await k.destroy();
    }
  }
}

export function databasePasswordRotation(opts: DatabasePasswordOptions): RotationTarget {
  const { store } = opts;

  const addVersion: Step = {
    name: 'add_version',
    async run(ctx) {
      const primary = await currentOrSeed(store, PRIMARY_URL, opts.configured.primary);
      const previous: Record<string, string> = { [PRIMARY_URL]: primary.version };
      const urls: Record<string, string> = { [PRIMARY_URL]: primary.value };
      const replica = await currentOrSeed(store, REPLICA_URL, opts.configured.replica).catch((err: unknown) => {
        // No replica URL anywhere (locally, without DATABASE_REPLICA_URL): nothing to carry it.
        if (err instanceof SecretNotFoundError) return undefined;
        throw err;
      });
      // Only a replica URL with the same user carries the password being changed.
      if (replica && userOf(replica.value) === userOf(primary.value)) {
        previous[REPLICA_URL] = replica.version;
        urls[REPLICA_URL] = replica.value;
      }
      // Recorded first: whatever happens next, the rollback knows what to go back to.
      await ctx.saveVersions('previous_versions', previous);
      const password = randomCredential(40);
      for (const [secret, url] of Object.entries(urls)) {
        const added = await store.addVersion(secret, withPassword(url, password));
        await ctx.saveVersions('new_versions', { [secret]: added.version });
      }
    },
    async undo(ctx) {
      for (const [secret, version] of Object.entries(ctx.record.previous_versions)) {
        await restorePrevious(store, secret, version);
      }
    },
  };

  const setPassword: Step = {
    name: 'set_password',
    async run(ctx) {
      const version = ctx.record.new_versions[PRIMARY_URL];
      if (!version) throw new Error('no new version of database-url was recorded');
      await setRolePassword(opts.k, (await store.access(PRIMARY_URL, version)).value);
    },
    async undo(ctx) {
      const version = ctx.record.previous_versions[PRIMARY_URL];
      if (!version) return;
      await setRolePassword(opts.k, (await store.access(PRIMARY_URL, version)).value);
    },
  };

  const verify: Step = {
    name: 'verify',
    async run(ctx) {
      for (const [secret, version] of Object.entries(ctx.record.new_versions)) {
        const url = (await store.access(secret, version)).value;
        await canConnect(url, secret === REPLICA_URL ? (opts.replicaWaitMs ?? 30_000) : 0);
      }
    },
  };

  const disable: Step = {
    name: 'disable_previous',
    run: (ctx) => disablePrevious(store, ctx.record.previous_versions),
  };

  return {
    name: PRIMARY_URL,
    steps: [addVersion, setPassword, verify],
    later: { steps: [disable], graceSeconds: opts.graceSeconds },
  };
}
