/**
 * Graceful shutdown: one sequence, with one deadline, for every process that serves, a deployed
 * function (Cloud Run sends SIGTERM and kills the instance about 10 s later) and the local stack
 * alike (`npm start`, Ctrl-C, and `Stack.stop()`):
 *
 *   1. stop accepting: every new request is answered 503 `shutting_down` (http/draining.ts) while
 *      the listener stays open, and the `stop-accepting` hooks run (the local bus stops handing out
 *      messages);
 *   2. the requests in flight finish, until none is left or the drain's share of the deadline is up;
 *   3. `release`: what this instance holds for others is given back (its running jobs' leases);
 *   4. `flush`: what waits in memory is written (usage counts);
 *   5. `close`: the connections close (Redis, the database pools), then `teardown` (what they
 *      spoke to: the local stack's listeners and embedded PostgreSQL);
 *
 * and, when a signal started it, the process exits 0. Each module registers its own part where it
 * opens what needs it, so this one imports none of them.
 *
 * The functions-framework answers SIGTERM itself (its invoker.js): it fails the latest request
 * still in flight with a 500 and calls process.exit() at once. So this module's listener goes
 * first, takes that request out of the framework's hands, and holds any exit until the sequence
 * is done.
 */
import { dirname, join } from 'node:path';
import { config } from '../config';
import { logger } from '../log';

export type ShutdownPhase = 'stop-accepting' | 'release' | 'flush' | 'close' | 'teardown';

/** The phases after the wait for requests in flight, in order. */
const AFTER_DRAIN: ShutdownPhase[] = ['release', 'flush', 'close', 'teardown'];

/**
 * What the drain leaves of the deadline to the phases after it: a job's release is one
 * transaction, the flush one statement, closing a pool a few round trips.
 */
const RESERVED_MS = 3000;

/** The reason of everything aborted because the instance is going away. */
export class ShuttingDown extends Error {
  constructor() {
    super('the instance is shutting down');
    this.name = 'ShuttingDown';
  }
}

type Hook = () => Promise<void> | void;

const hooks = new Map<ShutdownPhase, Set<Hook>>();
let stopping = new AbortController();
let inFlight = 0;
let drained: (() => void) | undefined;
let running: Promise<void> | undefined;

/** Runs `hook` in `phase` of every shutdown from now on; the result takes it off again. */
export function onShutdown(phase: ShutdownPhase, hook: Hook): () => void {
  let phaseHooks = hooks.get(phase);
  if (!phaseHooks) hooks.set(phase, (phaseHooks = new Set()));
  phaseHooks.add(hook);
  return () => void phaseHooks.delete(hook);
}

/** True from the moment a shutdown starts until it is over. */
export const isShuttingDown = (): boolean => stopping.signal.aborted;

/** Aborted (with a ShuttingDown reason) when a shutdown starts: long waits end on it. */
export const shutdownSignal = (): AbortSignal => stopping.signal;

/** Counts one request in flight; the shutdown waits for it until the result is called (once is enough). */
export function requestStarted(): () => void {
  inFlight += 1;
  let ended = false;
  return () => {
    if (ended) return;
    ended = true;
    inFlight -= 1;
    if (inFlight === 0) drained?.();
  };
}

/** Resolves with true when `work` settles within `ms`, with false when the time is up first. */
async function within(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeUp = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), Math.max(0, ms))));
  try {
    return await Promise.race([work.then(() => true), timeUp]);
  } finally {
    clearTimeout(timer);
  }
}

async function runPhase(phase: ShutdownPhase, deadline: number): Promise<void> {
  const phaseHooks = [...(hooks.get(phase) ?? [])];
  if (phaseHooks.length === 0) return;
  const started = Date.now();
  const outcomes = Promise.allSettled(phaseHooks.map(async (hook) => hook()));
  const done = await within(outcomes, deadline - started);
  const failed = done ? (await outcomes).filter((o) => o.status === 'rejected') : [];
  for (const f of failed) logger().error('shutdown step failed', { phase, error: (f as PromiseRejectedResult).reason });
  logger().info('shutdown phase', {
    phase,
    outcome: done ? (failed.length ? 'failed' : 'done') : 'deadline',
    ms: Date.now() - started,
  });
}

async function drain(until: number): Promise<void> {
  const started = Date.now();
  const idle = new Promise<void>((resolve) => {
    drained = resolve;
    if (inFlight === 0) resolve();
  });
  const done = await within(idle, until - started);
  drained = undefined;
  logger().info('shutdown phase', {
    phase: 'in-flight',
    outcome: done ? 'done' : 'deadline',
    ms: Date.now() - started,
    ...(done ? {} : { inFlight }),
  });
}

async function sequence(reason: string): Promise<void> {
  const started = Date.now();
  const deadline = started + config().AIPROD_SHUTDOWN_SECONDS * 1000;
  const drainUntil = deadline - Math.min(RESERVED_MS, (deadline - started) / 2);
  logger().info('shutdown started', { reason, inFlight, deadlineMs: deadline - started });
  stopping.abort(new ShuttingDown());
  await runPhase('stop-accepting', deadline);
  await drain(drainUntil);
  for (const phase of AFTER_DRAIN) await runPhase(phase, deadline);
  logger().info('shutdown complete', { reason, ms: Date.now() - started });
}

/**
 * Runs the sequence once (a call while it runs shares it) and resolves when it is over, by the
 * deadline at the latest. The process may then serve again (the tests start one stack after
 * another), so the state is reset; the hooks stay.
 */
export function shutdown(reason = 'requested'): Promise<void> {
  running ??= sequence(reason).finally(() => {
    stopping = new AbortController();
    running = undefined;
  });
  return running;
}

/**
 * The functions-framework's SIGTERM listener answers "the latest request" with a 500 when it has
 * not answered yet: that request is one the sequence lets finish. The framework keeps it behind
 * its invoker's setLatestRes, which forgets it. Outside the framework's server (the local stack,
 * a script) there is nothing to take back.
 */
function detachFrameworkResponse(): void {
  let invoker: { setLatestRes?: (res: null) => void };
  try {
    // Not among the package's exports: reached by its file, beside the entry point.
    invoker = require(join(dirname(require.resolve('@google-cloud/functions-framework')), 'invoker.js')) as {
      setLatestRes?: (res: null) => void;
    };
  } catch {
    return;
  }
  invoker.setLatestRes?.(null);
}

let exiting = false;

function onSignal(signal: NodeJS.Signals): void {
  detachFrameworkResponse();
  if (exiting) return;
  exiting = true;
  const exit = process.exit.bind(process);
  const done = shutdown(signal);
  void done.finally(() => exit(0));
  // Whoever asks for an exit meanwhile (the functions-framework, at once) waits for the sequence.
  process.exit = ((code?: number) => void done.finally(() => exit(code))) as typeof process.exit;
}

let installed = false;

/** SIGTERM and SIGINT run the sequence, then end the process with 0; once per process. */
export function installShutdown(): void {
  if (installed) return;
  installed = true;
  // First in line, so the sequence has started before another listener (the framework's) exits.
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.prependListener(signal, () => onSignal(signal));
}
