/**
 * `npm run drill -- restore` end to end, as an operator runs it, on the test run's PostgreSQL
 * server (databases of its own there), with little history so it stays quick.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { connect } from '../../shared/db';
import { withDatabaseName } from '../support/names';

const run = promisify(execFile);
const root = join(__dirname, '../..');

it('seeds, dumps, drops, restores into a new database, serves from it and resumes the waiting jobs', async () => {
  const server = withDatabaseName(process.env.AIPROD_TEST_BASE_URL!, 'postgres');
  const dataDir = mkdtempSync(join(tmpdir(), 'aiprod-drill-'));
  const { stdout } = await run(
    'npm',
    ['run', '--silent', 'drill', '--', 'restore', '--history', '200', '--waiting', '2', '--data-dir', dataDir],
    { cwd: root, env: { ...process.env, DATABASE_URL: server }, maxBuffer: 10 * 1024 * 1024 },
  ).catch((err: Error & { stdout?: string; stderr?: string }) => {
    // What the drill printed says which phase failed and why: the error alone says only "failed".
    throw new Error(`${err.message}\n--- stdout\n${err.stdout ?? ''}\n--- stderr\n${(err.stderr ?? '').slice(-8000)}`);
  });

  for (const phase of ['seed', 'dump', 'stop', 'drop', 'restore', 'verify', 'serve', 'resume']) {
    expect(stdout).toMatch(new RegExp(`^\\| ${phase} +\\| +\\d+\\.\\d \\| ok +\\|`, 'm'));
  }
  expect(stdout).toMatch(/^\| recovery: drop to serving +\| +\d+\.\d \|/m);
  expect(stdout).toMatch(/\| resume .*\| 2 of the 2 jobs PENDING at the dump completed/);
  // Every table checked, the jobs' and the outbox's among them, and none differs.
  expect(stdout).toMatch(/^\| table jobs +\| +\d+ \| +\d+ \| ok +\|$/m);
  expect(stdout).toMatch(/^\| sequence outbox_id_seq +\| +\d+ \| +\d+ \| ok +\|$/m);
  expect(stdout).not.toContain('MISMATCH');
  expect(stdout).toMatch(/^PASS: serving again \d+\.\d s after the drop/m);

  // The drill cleans up after itself: no database of its own left, nothing of its run in the data dir.
  const admin = connect(server, 1);
  try {
    const left = await admin.raw("SELECT datname FROM pg_database WHERE datname LIKE 'aiprod_drill%'");
    expect(left.rows).toEqual([]);
  } finally {
    await admin.destroy();
  }
  expect(readdirSync(dataDir)).toEqual([]);
}, 600_000);
