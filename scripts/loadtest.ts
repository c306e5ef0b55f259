/**
 * `npm run loadtest [-- --rate 200 --submit-rate 0.5 --duration 60 --mix status=55,... --p99-ms ...]`:
 * a realistic mix of partner traffic on the local stack with its workers on, checked against the
 * SLA (docs/sla.md). The stack runs as `npm start` runs it (a child process, its own data dir and
 * embedded PostgreSQL unless DATABASE_URL is set); the load test creates pro and enterprise tenants
 * enough that no tier limit is reached, uploads a small clip for each, waits for a first real job
 * of each, then drives, open loop at fixed rates: submits of real jobs (the workers run ffmpeg on
 * them), status polls, result reads of completed jobs, job listings and presets. It waits for the
 * jobs still running, prints a table per endpoint and the SLA checks, writes the JSON report, and
 * exits 0 when the SLA is met, 1 when it is missed, 2 on a bad flag, 3 when the run could not be
 * made, 130 when interrupted. Whatever happens, its tenants and media are removed.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { cpuSeconds, logSummary } from './bench/children';
import { createTenants, deleteTenants, serverVersion } from './bench/database';
import { TIMEOUT_SECONDS } from './bench/load';
import { BenchSession, message, type RunningStack } from './bench/session';
import { HttpClient } from './loadtest/client';
import { ENDPOINTS } from './loadtest/endpoints';
import { runWindow, type Rates, type Window } from './loadtest/load';
import { busyCores, machine, machineCpuTimes } from './loadtest/machine';
import { optionsFromArgs, type Options } from './loadtest/options';
import { buildReport, jobsReport, reportLines, type Measured } from './loadtest/report';
import { awaitJobs, makeFixture, seedJobs, uploadFixture } from './loadtest/setup';
import { figures } from './loadtest/stats';
import { clientAddresses, LOADTEST_TENANTS, tenantsNeeded } from './loadtest/tenants';
import { Workload, type Tenant } from './loadtest/workload';

const EXIT_SLA_MISSED = 1;
const EXIT_NOT_RUN = 3;

const session = new BenchSession(log);

async function main(): Promise<number> {
  const opts = optionsFromArgs(process.argv.slice(2));
  session.onStopSignals();
  const { signal } = session;
  try {
    const rates = ratesOf(opts);
    const needed = tenantsNeeded(rates, opts.warmup + opts.duration);
    const tenantCount = Math.max(opts.tenants, needed);
    if (needed > opts.tenants) log(`${needed} tenants are needed to stay clear of the tier limits at these rates`);

    await mkdir(opts.dataDir, { recursive: true });
    // Registered first, so undone last: once the stack, which writes there, has stopped.
    session.onTearDown("remove the run's media", () =>
      rm(join(opts.dataDir, 'storage'), { recursive: true, force: true }),
    );
    const stack = await session.startStack(opts.dataDir, { workers: true });
    const client = new HttpClient(new URL(stack.url), TIMEOUT_SECONDS * 1000);
    session.onTearDown('close the client', () => Promise.resolve(client.close()));
    const workload = await prepare(opts, stack, client, tenantCount, signal);

    if (opts.warmup > 0) {
      log(`warming up (not measured): ${opts.warmup} s...`);
      await runWindow(client, workload, rates, opts.warmup, signal);
    }
    log(`measuring: ${opts.duration} s, reads at ${opts.rate} req/s, submits at ${opts.submitRate} jobs/s...`);
    const { window, cpu } = await measured(client, workload, rates, opts.duration, stack, signal);

    log(`waiting for the jobs still running (at most ${opts.drainTimeout} s)...`);
    await awaitJobs(client, workload, opts.drainTimeout, signal);

    const report = buildReport(opts, rates, {
      machine: { ...machine(), ...cpu },
      database: await databaseLine(stack),
      tenants: tenantsLine(workload.tenants),
      endpoints: Object.fromEntries(
        ENDPOINTS.filter((e) => rates[e] > 0).map((e) => [e, figures(window.stats[e], window.start, window.seconds)]),
      ),
      // The jobs of the load itself: the first job of each tenant was only its setup.
      jobs: jobsReport(workload.all().slice(workload.tenants.length)),
      stackLog: await logSummary(stack.child.logPath),
    });
    await mkdir(dirname(opts.reportPath), { recursive: true });
    await writeFile(opts.reportPath, `${JSON.stringify(report, null, 2)}\n`);
    console.log(reportLines(report, opts.reportPath).join('\n'));
    return report.sla.pass ? 0 : EXIT_SLA_MISSED;
  } finally {
    await session.tearDown();
  }
}

function ratesOf(opts: Options): Rates {
  const read = (share: number): number => opts.rate * share;
  return {
    submit: opts.submitRate,
    status: read(opts.mix.status),
    result: read(opts.mix.result),
    list: read(opts.mix.list),
    presets: read(opts.mix.presets),
  };
}

/** The tenants (made fresh, a killed run's left-overs deleted first), their uploads, a first job each. */
async function prepare(
  opts: Options,
  stack: RunningStack,
  client: HttpClient,
  count: number,
  signal: AbortSignal,
): Promise<Workload> {
  await deleteTenants(stack.k, LOADTEST_TENANTS);
  session.onTearDown("delete the load test's tenants", () => deleteTenants(stack.k, LOADTEST_TENANTS));
  log(`creating ${count} tenants (pro and enterprise in turn) with one key each, and uploading the clip for each...`);
  const keys = await createTenants(stack.k, count, LOADTEST_TENANTS);
  const addresses = clientAddresses(count);
  const video = makeFixture(join(opts.dataDir, 'fixture.mp4'));
  const tenants: Tenant[] = [];
  for (const [i, key] of keys.entries()) {
    const partner = { key, address: addresses[i]!, tier: LOADTEST_TENANTS.tierOf(i + 1) };
    tenants.push({ ...partner, videoUri: await uploadFixture(client, partner, video) });
  }
  const workload = new Workload(tenants);
  log(`submitting a first job for each tenant and waiting for them to complete...`);
  await seedJobs(client, workload, opts.drainTimeout, signal);
  return workload;
}

/** The measured window, and how many cores the machine, the stack's process and this one used meanwhile. */
async function measured(
  client: HttpClient,
  workload: Workload,
  rates: Rates,
  seconds: number,
  stack: RunningStack,
  signal: AbortSignal,
): Promise<{ window: Window; cpu: Pick<Measured['machine'], 'busy_cores' | 'stack_process_cores' | 'client_cores'> }> {
  const nproc = machine().nproc;
  const machineBefore = machineCpuTimes();
  const stackBefore = cpuSeconds(stack.child.process.pid);
  const clientBefore = process.cpuUsage();
  const started = performance.now();
  const window = await runWindow(client, workload, rates, seconds, signal);
  const wall = (performance.now() - started) / 1000;
  const stackAfter = cpuSeconds(stack.child.process.pid);
  const clientUsed = process.cpuUsage(clientBefore);
  const cores = (used: number): number => Number((used / wall).toFixed(2));
  return {
    window,
    cpu: {
      busy_cores: busyCores(machineBefore, machineCpuTimes(), nproc),
      stack_process_cores:
        stackBefore !== undefined && stackAfter !== undefined ? cores(stackAfter - stackBefore) : undefined,
      client_cores: cores((clientUsed.user + clientUsed.system) / 1e6),
    },
  };
}

async function databaseLine(stack: RunningStack): Promise<string> {
  const where = process.env.DATABASE_URL ? 'DATABASE_URL' : 'embedded';
  return `PostgreSQL ${await serverVersion(stack.k)} (${where}), pool max ${process.env.DATABASE_POOL_MAX ?? 10}`;
}

function tenantsLine(tenants: readonly Tenant[]): Measured['tenants'] {
  const tiers: Record<string, number> = {};
  for (const t of tenants) tiers[t.tier] = (tiers[t.tier] ?? 0) + 1;
  return { count: tenants.length, tiers };
}

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(`loadtest: ${message(err)}`);
    process.exit(session.signal.aborted ? 130 : EXIT_NOT_RUN);
  },
);
