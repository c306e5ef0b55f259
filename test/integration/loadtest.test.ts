/**
 * `npm run loadtest`, run for real against the test database: briefly and at a low rate, but with
 * the stack's workers running the submitted jobs through ffmpeg. The figures are checked for sense
 * (every endpoint measured, counts as the schedule made them, every job completed), never for speed:
 * the latency thresholds are set out of reach in the first run, and out of any machine's reach in
 * the second, which must fail and say where.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { closeTestEnv, TestEnv, useTestEnv } from '../support/database';

const run = promisify(execFile);
const root = join(__dirname, '../..');
let env: TestEnv;

/** 10 reads a second shared 55/15/20/10, a job every 2 s, 4 s measured after 1 s of warm-up. */
const BRIEF = ['--rate', '10', '--submit-rate', '0.5', '--duration', '4', '--warmup', '1', '--tenants', '2'];
/** What the schedule calls for in 4 s: ceil(rate x share x seconds) per endpoint. */
const EXPECTED_REQUESTS = { submit: 2, status: 22, result: 6, list: 8, presets: 4 };
/** Latency thresholds no run reaches, so that only the figures decide the exit status. */
const LENIENT = ['--p95-ms', '600000', '--p99-ms', '600000', '--read-p99-ms', '600000'];

const loadtest = (...args: string[]) =>
  run('npm', ['run', '--silent', 'loadtest', '--', ...BRIEF, ...args], {
    cwd: root,
    env: process.env,
    maxBuffer: 16 * 1024 * 1024,
  });

const readReport = async (path: string) => JSON.parse(await readFile(path, 'utf8'));

beforeAll(async () => {
  env = await useTestEnv();
});
afterAll(closeTestEnv);

it('drives every endpoint of the mix open loop, reads only completed results, and every job completes', async () => {
  const path = join(env.dataDir, 'loadtest-report.json');
  const { stdout } = await loadtest('--report', path, ...LENIENT);
  const report = await readReport(path);

  expect(Object.keys(report.endpoints).sort()).toEqual(['list', 'presets', 'result', 'status', 'submit']);
  for (const [name, expected] of Object.entries(EXPECTED_REQUESTS)) {
    const f = report.endpoints[name];
    // Open loop: exactly what the schedule called for was sent, none skipped for want of a job.
    expect({ name, requests: f.requests, skipped: f.skipped }).toEqual({ name, requests: expected, skipped: 0 });
    const answered = Object.values(f.by_status as Record<string, number>).reduce((a, b) => a + b, 0);
    expect(answered + f.timeouts + f.connection_errors).toBe(f.requests);
    expect({ name, errors: f.errors, by_status: Object.keys(f.by_status) }).toEqual({
      name,
      errors: 0,
      by_status: [name === 'submit' ? '202' : '200'],
    });
    const { p50, p95, p99, max } = f.latency_ms;
    expect(p50).toBeGreaterThan(0);
    expect([p50 <= p95, p95 <= p99, p99 <= max]).toEqual([true, true, true]);
    expect(f.offered_rate).toBeCloseTo(expected / 4, 2);
    expect(f.achieved_rate).toBeGreaterThan(0);
  }
  expect(report.tenants).toEqual({ count: 2, tiers: { enterprise: 1, pro: 1 } });

  // One job in the warm-up, two in the window: the workers ran each to the end.
  expect(report.jobs).toMatchObject({ submitted: 3, completed: 3, failed: 0, unfinished: 0 });
  expect(report.jobs.turnaround_seconds.p50).toBeGreaterThan(0);

  expect(report.sla.pass).toBe(true);
  expect(report.sla.checks.length).toBeGreaterThan(20);
  expect(report.machine).toMatchObject({
    nproc: expect.any(Number),
    cpu_model: expect.any(String),
    node: process.version,
  });
  expect(stdout).toContain('| GET /pipeline/{id}/result | 6 |');
  expect(stdout).toContain('SLA met');

  // Its tenants, their jobs and keys are gone again.
  expect(await env.db('tenants').where('name', 'like', 'loadtest-%')).toEqual([]);
}, 300_000);

it('exits 1 when a threshold is missed, naming each endpoint and figure that missed it', async () => {
  const path = join(env.dataDir, 'loadtest-impossible.json');
  const failed = await loadtest('--report', path, '--p95-ms', '600000', '--p99-ms', '600000', '--read-p99-ms', '0.001')
    .then(() => null)
    .catch((err: { code: number; stdout: string }) => err);
  expect(failed?.code).toBe(1);
  const reads = ['GET /pipeline/{id}', 'GET /pipeline/{id}/result', 'GET /jobs', 'GET /presets'];
  for (const route of reads) {
    expect(failed?.stdout).toMatch(
      new RegExp(`FAIL ${escape(route)} p99 \\(read target\\) [0-9.]+ ms \\(SLA: under 0.001 ms\\)`),
    );
  }
  expect(failed?.stdout).toContain('SLA missed: 4 of');

  const report = await readReport(path);
  expect(report.sla.pass).toBe(false);
  const missed = report.sla.checks.filter((c: { pass: boolean }) => !c.pass);
  expect(missed.map((c: { subject: string; figure: string }) => `${c.subject} ${c.figure}`).sort()).toEqual(
    reads.map((r) => `${r} p99 (read target)`).sort(),
  );
}, 300_000);

const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
