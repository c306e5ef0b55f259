/**
 * `npm run bench:submit [-- --duration S --rounds N --connections 50,200 --tenants N --warmup S --batches N --strict]`:
 * how many jobs POST /pipeline/run accepts per second and how fast it answers, against the floor
 * of any submit endpoint on the same database (docs/submit-benchmark.md).
 *
 * Three child processes: the local stack as `npm start` runs it, with the workers off
 * (AIPROD_LOCAL_WORKERS=0: no push bus, no maintenance tick, so jobs stay PENDING and nothing else
 * competes for the machine, as the submit function runs alone on its own instances in the cloud);
 * a bare baseline: express and a pg pool of the same size inserting one row per request into a
 * scratch table of the same database; and that same baseline served through the
 * functions-framework, as every function is (the floor of the platform the stack is built on).
 * The bench itself only drives load (autocannon, in this process), with distinct valid jobs and
 * the keys of many enterprise tenants in turn.
 *
 * The targets take turns (submit, bare, framework, submit, ...) at each connection level, so that a slow
 * spell on the machine hits all alike, after an untimed warm-up of each. Goals: at 50 connections
 * the submit path keeps at least 2/3 of the framework baseline's throughput, with a p99 at most
 * 1.5 times that baseline's and every request accepted (bench/report.ts says why the framework's
 * floor and not the bare one); at 200, every request is answered (202, or 429/503 when shedding)
 * within 2 s.
 * Then `--batches` 500-item batches, one after another (bench/batch.ts): accepted in under 1 s at
 * the median. A failed goal prints FAIL and still exits 0, unless --strict; a failed setup exits 1.
 */
import { mkdir } from 'node:fs/promises';
import { relative, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import type { Knex } from 'knex';
import { freePort } from '../shared/net/free-port';
import { Child, cpuSeconds, healthy, logSummary, waitForHealth } from './bench/children';
import {
  createScratchTable,
  createTenants,
  deleteTenants,
  dropScratchTable,
  SCRATCH_TABLE,
  serverVersion,
} from './bench/database';
import { jobRequests, runSegment, Segment, summarize, TIMEOUT_SECONDS } from './bench/load';
import { BATCH_SIZE, batchReport, measureBatches, type BatchRun } from './bench/batch';
import { baselineWarnings, goalChecks, Level, levelTable, machineLines } from './bench/report';
import { BenchSession, message } from './bench/session';

const USAGE =
  'usage: npm run bench:submit -- [--duration <s>] [--rounds <n>] [--connections <n,n,...>] [--tenants <n>] [--warmup <s>] [--batches <n>] [--strict]';
const BASELINE_START_MS = 30_000;
/** After a segment, the target must answer /health again (its pool free) within this long. */
const SETTLE_MS = 15_000;

interface Options {
  duration: number;
  rounds: number;
  connections: number[];
  tenants: number;
  warmup: number;
  batches: number;
  strict: boolean;
}

/** The targets, in the order they take turns: a base URL and the child process that serves it. */
const TARGETS = ['submit', 'bare', 'framework'] as const;
type Targets = Record<(typeof TARGETS)[number], { url: string; child: Child }>;

interface Setup {
  targets: Targets;
  keys: string[];
  database: string;
  stackLog: string;
}

const session = new BenchSession(log);

async function main(): Promise<number> {
  const opts = optionsFromArgs(process.argv.slice(2));
  session.onStopSignals();
  try {
    const setup = await setUp(opts, session.signal);
    const levels = await measure(opts, setup, session.signal);
    let batches: BatchRun | null = null;
    if (opts.batches > 0) {
      log(`sending ${opts.batches} batches of ${BATCH_SIZE} items...`);
      batches = await measureBatches(setup.targets.submit.url, setup.keys[0]!, opts.batches, session.signal);
    }
    const failed = await report(opts, levels, batches, setup);
    return opts.strict && failed > 0 ? 1 : 0;
  } finally {
    await session.tearDown();
  }
}

async function setUp(opts: Options, signal: AbortSignal): Promise<Setup> {
  const external = process.env.DATABASE_URL || undefined;
  // Its own data dir: its own embedded cluster, never the one `npm start` keeps the user's jobs in.
  const dataDir = resolve(process.env.AIPROD_DATA_DIR ?? '.aiprod', 'bench-submit');
  await mkdir(dataDir, { recursive: true });

  const stack = await session.startStack(dataDir, { workers: false });
  const { url: stackUrl, databaseUrl: url, k } = stack;
  await deleteTenants(k);
  session.onTearDown("delete the bench's tenants", () => deleteTenants(k));
  log(`creating ${opts.tenants} enterprise tenants with one key each...`);
  const keys = await createTenants(k, opts.tenants);
  await createScratchTable(k);
  session.onTearDown(`drop ${SCRATCH_TABLE}`, () => dropScratchTable(k));

  const baseline = async (name: string, framework: boolean): Promise<{ url: string; child: Child }> => {
    const baseUrl = `http://127.0.0.1:${await freePort()}`;
    const child = session.launch(name, 'scripts/bench/baseline.ts', dataDir, {
      PORT: new URL(baseUrl).port,
      DATABASE_URL: url,
      BENCH_TABLE: SCRATCH_TABLE,
      BENCH_FRAMEWORK: framework ? '1' : '0',
    });
    log(`starting the ${name} baseline on ${baseUrl}...`);
    await waitForHealth(child, baseUrl, BASELINE_START_MS, signal);
    return { url: baseUrl, child };
  };

  return {
    targets: {
      submit: { url: stackUrl, child: stack.child },
      bare: await baseline('bare', false),
      framework: await baseline('framework', true),
    },
    keys,
    database: await databaseLine(k, external),
    stackLog: stack.child.logPath,
  };
}

async function databaseLine(k: Knex, external: string | undefined): Promise<string> {
  const where = external ? 'DATABASE_URL' : 'embedded, fsync off';
  const poolMax = process.env.DATABASE_POOL_MAX ?? 10;
  return `PostgreSQL ${await serverVersion(k)} (${where}), pool max ${poolMax} on every target`;
}

/** Every level in turn; within a level, rounds of (submit, bare, framework). */
async function measure(opts: Options, setup: Setup, signal: AbortSignal): Promise<Level[]> {
  let jobs = 0;
  const next = (): number => ++jobs;
  const run = async (name: keyof Targets, connections: number, seconds: number): Promise<Segment> => {
    const { url, child } = setup.targets[name];
    const serverCpu = (): number | undefined => cpuSeconds(child.process.pid);
    const segment = await runSegment(url, connections, seconds, jobRequests(setup.keys, next), serverCpu, signal);
    signal.throwIfAborted();
    await settle(name, url, signal);
    return segment;
  };

  const first = opts.connections[0] ?? 50;
  for (const name of opts.warmup > 0 ? TARGETS : []) {
    log(`warming up (untimed): ${name}, ${opts.warmup} s at ${first} connections`);
    await run(name, first, opts.warmup);
  }
  const levels: Level[] = [];
  for (const connections of opts.connections) {
    const segments: Record<keyof Targets, Segment[]> = { submit: [], bare: [], framework: [] };
    for (let round = 1; round <= opts.rounds; round++) {
      for (const name of TARGETS) {
        const segment = await run(name, connections, opts.duration);
        segments[name].push(segment);
        log(`${connections} connections, round ${round}/${opts.rounds}, ${name}: ${segmentLine(segment)}`);
      }
    }
    const pooled = (name: keyof Targets) => summarize(segments[name], setup.targets[name].url, connections);
    levels.push({
      connections,
      rounds: opts.rounds,
      seconds: opts.duration,
      submit: pooled('submit'),
      bare: pooled('bare'),
      framework: pooled('framework'),
    });
  }
  return levels;
}

function segmentLine(segment: Segment): string {
  const s = summarize([segment], 'http://127.0.0.1', 1);
  const statuses = [...s.byStatus].map(([status, n]) => `${status} x ${n}`).join(', ') || 'no answers';
  const p99 = s.latency ? `p99 ${s.latency.p99} ms` : 'no latency';
  const cpu = s.serverCores === undefined ? '' : `, server ${s.serverCores.toFixed(2)} cores`;
  return `${(s.answered / s.seconds).toFixed(0)} req/s (${statuses}), ${p99}, ${s.errors} errors, ${s.timeouts} timeouts${cpu}`;
}

/**
 * Lets the target drain what the last segment left queued (requests autocannon gave up on are
 * still waiting for its pool) before the other target is measured on the same machine.
 */
async function settle(name: string, url: string, signal: AbortSignal): Promise<void> {
  await sleep(1000);
  const deadline = Date.now() + SETTLE_MS;
  while (Date.now() < deadline) {
    signal.throwIfAborted();
    if (await healthy(url, 1000)) return;
    await sleep(250);
  }
  log(`note: ${name} did not answer /health within ${SETTLE_MS / 1000} s after its segment`);
}

/** Prints the tables, goals and machine on stdout; returns the number of failed goals. */
async function report(opts: Options, levels: Level[], batches: BatchRun | null, setup: Setup): Promise<number> {
  const batch = batches ? batchReport(batches) : null;
  const checks = [...levels.flatMap(goalChecks), ...(batch ? [batch.check] : [])];
  const failed = checks.filter((c) => !c.pass).length;
  const logged = await logSummary(setup.stackLog);
  const warmup = opts.warmup > 0 ? `after ${opts.warmup} s of untimed warm-up each` : 'no warm-up';
  console.log(
    [
      '',
      `POST /pipeline/run (local stack, workers off) against a bare express + pg insert on the same database, and that insert through the functions-framework; ` +
        `${opts.tenants} enterprise tenants, keys in turn, every job distinct; ${opts.rounds} x ${opts.duration} s ` +
        `per target per level, interleaved, ${warmup}; timeout ${TIMEOUT_SECONDS} s`,
      '',
      ...levels.flatMap((level) => [...levelTable(level), '']),
      ...(batch ? [...batch.table, ''] : []),
      ...checks.map((c) => `${c.pass ? 'PASS' : 'FAIL'} ${c.text}`),
      ...levels.flatMap(baselineWarnings),
      checks.length > 0 ? `goals: ${checks.length - failed} of ${checks.length} passed` : 'goals: none at these levels',
      '',
      ...(logged.length > 0
        ? [`the stack's log (${relative(process.cwd(), setup.stackLog)}), most frequent lines:`, ...logged, '']
        : []),
      ...machineLines(setup.database),
    ].join('\n'),
  );
  return failed;
}

const FLAGS = {
  duration: { type: 'string', default: '10' },
  rounds: { type: 'string', default: '3' },
  connections: { type: 'string', default: '50,200' },
  tenants: { type: 'string', default: '200' },
  warmup: { type: 'string', default: '3' },
  batches: { type: 'string', default: '10' },
  strict: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

function optionsFromArgs(args: string[]): Options {
  let values: ReturnType<typeof parseArgs<{ args: string[]; options: typeof FLAGS }>>['values'];
  try {
    values = parseArgs({ args, options: FLAGS }).values;
  } catch (err) {
    usage(message(err));
  }
  if (values.help) usage();
  return {
    duration: whole('--duration', values.duration, 1),
    rounds: whole('--rounds', values.rounds, 1),
    connections: values.connections.split(',').map((c) => whole('--connections', c.trim(), 1)),
    tenants: whole('--tenants', values.tenants, 1),
    warmup: whole('--warmup', values.warmup, 0),
    batches: whole('--batches', values.batches, 0),
    strict: values.strict,
  };
}

function whole(flag: string, value: string, min: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) usage(`${flag} takes a whole number of at least ${min}`);
  return n;
}

function usage(problem?: string): never {
  if (problem) console.error(`bench-submit: ${problem}`);
  console.error(USAGE);
  process.exit(problem ? 2 : 0);
}

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(`bench-submit: ${message(err)}`);
    process.exit(session.signal.aborted ? 130 : 1);
  },
);
