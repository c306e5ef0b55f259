/**
 * The restore drill, phase by phase, on databases and a data dir of its own:
 *
 * 1. seed: a stack on a new database takes real traffic (seed.ts), then a stack without workers
 *    takes jobs that are left waiting, PENDING, as the outage finds them; history is added in bulk;
 * 2. dump: pg_dump of the live database, and a census of it in the dump's own snapshot;
 * 3. stop, drop: the stack goes down and its database is dropped (the recovery clock starts);
 * 4. restore: pg_restore into a NEW database; verify: the census again, table by table;
 * 5. serve: the stack is started on the new database and answers /health (the clock stops);
 * 6. resume: the jobs that were waiting complete.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Knex } from 'knex';
import { connect } from '../../shared/db';
import { describeError } from '../../shared/describe-error';
import { startLocalPostgres, type LocalPostgres } from '../../shared/db/embedded';
import { migrateLatest } from '../../shared/db/migrate';
import { freePort } from '../../shared/net/free-port';
import { logTail, startChild, stopChild, waitForHealth, type Child } from '../bench/children';
import { compareCensus, takeCensus, type Census, type CensusCheck } from './census';
import { seedHistory } from './history';
import {
  createDatabase,
  dropDatabase,
  dump,
  findClientTools,
  restore,
  serverMajor,
  withDatabase,
  type ClientTools,
} from './postgres';
import type { Phase } from './report';
import { createTenants, makeSample, seedActivity, startReceiver, submitWaiting, type WaitingJob } from './seed';

export interface RestoreDrillOptions {
  /** Holds the drill's embedded server (without DATABASE_URL) and, per run, the stacks' data. */
  dataDir: string;
  /** Ended jobs written in bulk as history. */
  history: number;
  /** Jobs left waiting when the database is lost. */
  waiting: number;
  /** Leaves the restored database and the run's files in place. */
  keep: boolean;
  pgBin?: string;
}

export interface RestoreDrillResult {
  phases: Phase[];
  checks: CensusCheck[];
  /** From the drop to the restored stack answering /health. */
  recoverySeconds?: number;
  /** From the drop to the last waiting job completed. */
  resumedSeconds?: number;
  /** Where the run's files are kept (with --keep), or why the drill stopped. */
  notes: string[];
  ok: boolean;
}

const STACK_READY_MS = 120_000;
const STACK_STOP_MS = 30_000;
const RESUME_TIMEOUT_MS = 5 * 60_000;

class Drill {
  readonly phases: Phase[] = [];
  readonly children: Child[] = [];

  async phase<T>(name: string, work: () => Promise<{ value: T; detail: string; ok?: boolean }>): Promise<T> {
    const started = performance.now();
    try {
      const { value, detail, ok = true } = await work();
      this.phases.push({ name, seconds: (performance.now() - started) / 1000, detail, ok });
      return value;
    } catch (err) {
      const detail = describeError(err);
      this.phases.push({ name, seconds: (performance.now() - started) / 1000, detail, ok: false });
      throw err;
    }
  }

  /** The local stack exactly as `npm start` runs it, on `databaseUrl`, with or without its workers. */
  async startStack(label: string, databaseUrl: string, port: number, runDir: string, workers: boolean) {
    // Every read goes to the drill's database: no replica of another one.
    const inherited = { ...process.env };
    delete inherited.DATABASE_REPLICA_URL;
    const child = startChild(
      `stack (${label})`,
      'scripts/bench/stack.ts',
      {
        ...inherited,
        AIPROD_MODE: 'local',
        DATABASE_URL: databaseUrl,
        PORT: String(port),
        AIPROD_PUBLIC_URL: `http://127.0.0.1:${port}`,
        AIPROD_DATA_DIR: runDir,
        // The drill's webhook receiver listens on this machine.
        AIPROD_ALLOW_PRIVATE_URLS: '1',
        AIPROD_LOCAL_WORKERS: workers ? '1' : '0',
        LOG_LEVEL: 'warn',
      },
      join(runDir, `stack-${label}.log`),
    );
    this.children.push(child);
    await waitForHealth(child, `http://127.0.0.1:${port}`, STACK_READY_MS, new AbortController().signal);
    return child;
  }

  async stopStack(child: Child): Promise<void> {
    await stopChild(child, STACK_STOP_MS);
    this.children.splice(this.children.indexOf(child), 1);
  }
}

const byStatus = async (k: Knex | Knex.Transaction): Promise<string> =>
  (await k('jobs').groupBy('status').orderBy('status').select('status', k.raw('count(*)::int AS n')))
    .map((r: { status: string; n: number }) => `${r.status} ${r.n}`)
    .join(', ');

export async function runRestoreDrill(opts: RestoreDrillOptions): Promise<RestoreDrillResult> {
  const drill = new Drill();
  const notes: string[] = [];
  const dataDir = resolve(opts.dataDir);
  const stamp = `${new Date().toISOString().slice(0, 19).replace(/\D/g, '')}_${randomBytes(3).toString('hex')}`;
  const runDir = join(dataDir, `run-${stamp}`);
  mkdirSync(runDir, { recursive: true });
  const pg: LocalPostgres | undefined = process.env.DATABASE_URL
    ? undefined
    : await startLocalPostgres(dataDir, 'postgres');
  const serverUrl = process.env.DATABASE_URL ?? pg!.url;
  const admin = connect(serverUrl, 1);
  const original = `aiprod_drill_${stamp}`;
  const restored = `${original}_restored`;
  const receiver = await startReceiver();
  let checks: CensusCheck[] = [];
  let recoverySeconds: number | undefined;
  let resumedSeconds: number | undefined;
  let stopped: string | undefined;
  try {
    const tools: ClientTools = await findClientTools(await serverMajor(admin), opts.pgBin);
    const port = await freePort();
    const dumpFile = join(runDir, `${original}.dump`);

    const { waiting, intake } = await drill.phase('seed', async () => {
      await createDatabase(admin, original);
      const k = connect(withDatabase(serverUrl, original), 2);
      try {
        await migrateLatest(k);
        const live = await drill.startStack('seed', withDatabase(serverUrl, original), port, runDir, true);
        const tenants = await createTenants(k, `http://127.0.0.1:${port}`);
        const sample = makeSample(join(runDir, 'sample.mp4'));
        await seedActivity(tenants, sample, receiver.url);
        await drill.stopStack(live);
        const intake = await drill.startStack('intake', withDatabase(serverUrl, original), port, runDir, false);
        const waiting = await submitWaiting(tenants, sample, opts.waiting);
        await seedHistory(k, opts.history);
        return {
          value: { waiting, intake },
          detail: `3 tenants; jobs ${await byStatus(k)} (${opts.history} of them history)`,
        };
      } finally {
        await k.destroy();
      }
    });

    const dumped: Census = await drill.phase('dump', async () => {
      const k = connect(withDatabase(serverUrl, original), 1);
      try {
        // The census reads the very snapshot pg_dump dumps, while the stack keeps serving.
        const census = await k.transaction(
          async (trx) => {
            const { snapshot } = (await trx.raw('SELECT pg_export_snapshot() AS snapshot')).rows[0];
            const taken = await takeCensus(trx);
            await dump(tools, withDatabase(serverUrl, original), dumpFile, snapshot);
            return taken;
          },
          { isolationLevel: 'repeatable read' },
        );
        const mb = (statSync(dumpFile).size / 1024 ** 2).toFixed(1);
        const rows = Object.values(census.tables).reduce((a, b) => a + b, 0);
        return {
          value: census,
          detail: `pg_dump ${tools.version}, ${mb} MB, ${Object.keys(census.tables).length} tables, ${rows} rows`,
        };
      } finally {
        await k.destroy();
      }
    });

    await drill.phase('stop', async () => {
      await drill.stopStack(intake);
      return { value: undefined, detail: 'the stack stops (SIGTERM, graceful shutdown)' };
    });

    const lost = performance.now();
    await drill.phase('drop', async () => {
      await dropDatabase(admin, original);
      return { value: undefined, detail: `DROP DATABASE ${original}` };
    });

    await drill.phase('restore', async () => {
      await createDatabase(admin, restored);
      await restore(tools, withDatabase(serverUrl, restored), dumpFile);
      return { value: undefined, detail: `pg_restore ${tools.version} into the new database ${restored}` };
    });

    checks = await drill.phase('verify', async () => {
      const k = connect(withDatabase(serverUrl, restored), 1);
      try {
        const found = compareCensus(dumped, await takeCensus(k));
        const bad = found.filter((c) => !c.ok).length;
        const tables = found.filter((c) => c.kind === 'table').length;
        return {
          value: found,
          detail: `${tables} tables, ${found.length - tables} sequences: ${bad ? `${bad} differ` : 'as dumped'}`,
          ok: bad === 0,
        };
      } finally {
        await k.destroy();
      }
    });

    const serving = await drill.phase('serve', async () => {
      const child = await drill.startStack('restored', withDatabase(serverUrl, restored), port, runDir, true);
      recoverySeconds = (performance.now() - lost) / 1000;
      return { value: child, detail: 'the stack on the restored database answers GET /health 200' };
    });

    await drill.phase('resume', async () => {
      const statuses = await resume(waiting);
      resumedSeconds = (performance.now() - lost) / 1000;
      const completed = [...statuses.values()].filter((s) => s === 'COMPLETED').length;
      return {
        value: undefined,
        detail: `${completed} of the ${waiting.length} jobs PENDING at the dump completed`,
        ok: completed === waiting.length,
      };
    });
    await drill.stopStack(serving);
  } catch (err) {
    stopped = describeError(err);
    notes.push(`the drill stopped: ${stopped}`);
    // The stacks' own words on it, before their logs go with the run's files.
    for (const child of drill.children) {
      const state =
        child.process.exitCode === null && child.process.signalCode === null ? 'running' : await child.exited;
      notes.push(`${child.name}, ${state}: ${await logTail(child.logPath)}`);
    }
  } finally {
    for (const child of [...drill.children]) await drill.stopStack(child);
    await receiver.close();
    if (opts.keep) {
      notes.push(`kept: database ${restored} on ${new URL(serverUrl).host}, files in ${runDir}`);
    } else {
      await dropDatabase(admin, restored);
      rmSync(runDir, { recursive: true, force: true });
    }
    await dropDatabase(admin, original);
    await admin.destroy();
    if (pg?.owned) await pg.stop();
  }
  const ok = !stopped && drill.phases.every((p) => p.ok) && checks.every((c) => c.ok);
  return { phases: drill.phases, checks, recoverySeconds, resumedSeconds, notes, ok };
}

/** Waits for every job that was PENDING at the dump to end, each asked of its own tenant. */
async function resume(waiting: WaitingJob[]): Promise<Map<string, string>> {
  const statuses = new Map<string, string>();
  for (const partner of new Set(waiting.map((w) => w.partner))) {
    const ids = waiting.filter((w) => w.partner === partner).map((w) => w.id);
    for (const [id, status] of await partner.awaitEnd(ids, RESUME_TIMEOUT_MS)) statuses.set(id, status);
  }
  return statuses;
}
