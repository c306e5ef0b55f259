/**
 * The lifetime of a run of `npm run bench:submit` or `npm run loadtest`: the local stack started as
 * a child on a data dir of its own, what the run set up, undone in reverse order whatever happens
 * (an error, Ctrl-C), and the signals that stop it.
 */
import { join } from 'node:path';
import type { Knex } from 'knex';
import { freePort } from '../../shared/net/free-port';
import { Child, startChild, stopChild, waitForHealth } from './children';
import { openDatabase } from './database';

const STACK_START_MS = 180_000;
const STOP_GRACE_MS = 20_000;

/** The stack a run measures, and a connection to the database it serves. */
export interface RunningStack {
  url: string;
  child: Child;
  /** DATABASE_URL, or the embedded server the stack started on its data dir. */
  databaseUrl: string;
  k: Knex;
}

export class BenchSession {
  private readonly stopper = new AbortController();
  private readonly undo: { what: string; step: () => Promise<unknown> }[] = [];
  private readonly children: Child[] = [];

  constructor(private readonly log: (line: string) => void) {}

  /** Aborted by Ctrl-C, SIGTERM or SIGHUP. */
  get signal(): AbortSignal {
    return this.stopper.signal;
  }

  /** Registers how to undo what was just set up; the last registered is undone first. */
  onTearDown(what: string, step: () => Promise<unknown>): void {
    this.undo.push({ what, step });
  }

  /** A child with the run's environment plus `env`, logging to `<dataDir>/<name>.log`; stopped at the end. */
  launch(name: string, script: string, dataDir: string, env: NodeJS.ProcessEnv): Child {
    const childEnv: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'warn', ...env };
    // An empty or absent DATABASE_URL must reach the stack as absent: it then runs the embedded server.
    if (!childEnv.DATABASE_URL) delete childEnv.DATABASE_URL;
    const child = startChild(name, script, childEnv, join(dataDir, `${name}.log`));
    this.children.push(child);
    this.onTearDown(`stop the ${name}`, () => stopChild(child, STOP_GRACE_MS));
    return child;
  }

  /**
   * The local stack as `npm start` runs it, on a free port and `dataDir` (its own embedded
   * PostgreSQL there unless DATABASE_URL is set), with the workers on or off, once it answers
   * /health; and a connection to its database.
   */
  async startStack(dataDir: string, opts: { workers: boolean }): Promise<RunningStack> {
    const external = process.env.DATABASE_URL || undefined;
    const url = `http://127.0.0.1:${await freePort()}`;
    const child = this.launch('stack', 'scripts/bench/stack.ts', dataDir, {
      PORT: new URL(url).port,
      AIPROD_LOCAL_WORKERS: opts.workers ? '1' : '0',
      AIPROD_DATA_DIR: dataDir,
      DATABASE_URL: external,
    });
    this.log(`starting the stack (workers ${opts.workers ? 'on' : 'off'}) on ${url}...`);
    await waitForHealth(child, url, STACK_START_MS, this.signal);
    const { url: databaseUrl, k } = await openDatabase(external, dataDir);
    this.onTearDown('close the connection', () => k.destroy());
    return { url, child, databaseUrl, k };
  }

  async tearDown(): Promise<void> {
    for (let step = this.undo.pop(); step; step = this.undo.pop()) {
      try {
        await step.step();
      } catch (err) {
        this.log(`could not ${step.what}: ${message(err)}`);
      }
    }
  }

  /**
   * First Ctrl-C (or SIGTERM, SIGHUP): stop measuring and clean up. A second: kill the children's
   * process groups now and leave, for when a cleanup step hangs.
   */
  onStopSignals(): void {
    const onSignal = (signal: NodeJS.Signals): void => {
      if (!this.stopper.signal.aborted) {
        this.log(`\n${signal}: stopping and cleaning up (again to force)...`);
        this.stopper.abort(new Error(`stopped by ${signal}`));
        return;
      }
      for (const child of this.children) killGroup(child);
      process.exit(130);
    };
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, onSignal);
  }
}

function killGroup(child: Child): void {
  try {
    if (child.process.pid && child.process.exitCode === null) process.kill(-child.process.pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

export const message = (err: unknown): string => (err instanceof Error ? err.message || err.name : String(err));
