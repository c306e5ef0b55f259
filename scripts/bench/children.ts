/**
 * The child processes of `npm run bench:submit` (the local stack, the bare baseline) and of
 * `npm run drill` (the local stack): started, waited for, and stopped, whatever happens to the bench.
 *
 * Each child runs in its own process group, so a Ctrl-C in the terminal reaches the bench alone and
 * the bench stops the children in order (after it has cleaned up the database they serve). Each
 * also has an IPC channel: if the bench dies without stopping them (even SIGKILL), the channel
 * closes and the child stops itself rather than running on as an orphan.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { closeSync, createReadStream, openSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';

const ROOT = resolve(__dirname, '..', '..');

export interface Child {
  name: string;
  logPath: string;
  process: ChildProcess;
  /** Resolves with a description of how the child ended (exit code or signal). */
  exited: Promise<string>;
}

/**
 * Runs `script` (a TypeScript file of the repository) under Node with tsx's loader. Node itself,
 * not `npx tsx`, so the pid is the process that serves and signals reach it directly. Its output
 * goes straight to `logPath`: the bench reads none of it while it measures.
 */
export function startChild(name: string, script: string, env: NodeJS.ProcessEnv, logPath: string): Child {
  const log = openSync(logPath, 'w');
  try {
    const child = spawn(process.execPath, ['--import', 'tsx', script], {
      cwd: ROOT,
      env,
      stdio: ['ignore', log, log, 'ipc'],
      detached: true,
    });
    const exited = new Promise<string>((res) => {
      child.once('exit', (code, signal) => res(signal ? `signal ${signal}` : `code ${code}`));
      child.once('error', (err) => res(`error: ${err.message}`));
    });
    return { name, logPath, process: child, exited };
  } finally {
    closeSync(log); // the child holds its own copy of the descriptor
  }
}

/** Polls GET `<url>/health` until it answers 200; fails when the child ends first or time runs out. */
export async function waitForHealth(child: Child, url: string, timeoutMs: number, signal: AbortSignal): Promise<void> {
  let ended: string | undefined;
  void child.exited.then((how) => (ended = how));
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    signal.throwIfAborted();
    if (ended) throw new Error(`${child.name} ended (${ended}) before it was ready\n${await logTail(child.logPath)}`);
    if (await healthy(url, 2000)) return;
    await sleep(250);
  }
  throw new Error(`${child.name} not ready after ${timeoutMs / 1000} s\n${await logTail(child.logPath)}`);
}

/** True when GET `<url>/health` answers 200 within `timeoutMs`. */
export async function healthy(url: string, timeoutMs: number): Promise<boolean> {
  try {
    const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(timeoutMs) });
    await res.arrayBuffer();
    return res.status === 200;
  } catch {
    return false;
  }
}

/**
 * SIGTERM (each child shuts down cleanly on it: the stack stops its embedded PostgreSQL), then,
 * after `graceMs`, SIGKILL to the child's whole process group, which holds what it spawned.
 */
export async function stopChild(child: Child, graceMs: number): Promise<void> {
  const { pid } = child.process;
  if (pid === undefined || child.process.exitCode !== null || child.process.signalCode !== null) return;
  child.process.kill('SIGTERM');
  const timer = sleep(graceMs).then(() => 'timeout');
  if ((await Promise.race([child.exited, timer])) !== 'timeout') return;
  process.stderr.write(`${child.name} did not stop within ${graceMs / 1000} s: killing its process group\n`);
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // already gone
  }
  await child.exited;
}

/** The last lines of a child's log, for an error message. */
export async function logTail(path: string, lines = 15): Promise<string> {
  const text = await readFile(path, 'utf8').catch(() => '');
  const tail = text.trimEnd().split('\n').slice(-lines).join('\n');
  return tail ? `last lines of ${path}:\n${tail}` : `(${path} is empty)`;
}

/**
 * What a child logged at warn and above (JSON lines; the children run with LOG_LEVEL=warn), as
 * "count x message" lines, most frequent first: under overload the stack's log says why it failed.
 */
export async function logSummary(path: string, top = 5): Promise<string[]> {
  const counts = new Map<string, number>();
  try {
    const lines = createInterface({ input: createReadStream(path), crlfDelay: Infinity });
    for await (const line of lines) {
      const key = logKey(line.trim());
      if (key) counts.set(key, (counts.get(key) ?? 0) + 1);
    }
  } catch {
    return []; // no log to read: nothing to add to the report
  }
  return [...counts]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([key, n]) => `${n} x ${key}`);
}

/** A JSON log line at warn or above as its level, message and error message; anything else is not counted. */
function logKey(line: string): string | undefined {
  let entry: { level?: string; message?: string; detail?: string; error?: { message?: string } | string };
  try {
    entry = JSON.parse(line) as typeof entry;
  } catch {
    return undefined; // the stack's banner, or a trace already shown by logTail when it mattered
  }
  if (entry.level !== 'warn' && entry.level !== 'error') return undefined;
  // knex warns with a `detail` holding a whole stack trace: its first line says what happened.
  const error = (typeof entry.error === 'string' ? entry.error : entry.error?.message) ?? entry.detail?.split('\n')[0];
  return `${entry.level}: ${entry.message ?? ''}${error ? ` (${error})` : ''}`.slice(0, 200);
}

/** /proc reports CPU time in USER_HZ ticks, which Linux fixes at 100 per second for user space. */
const USER_HZ = 100;

/** CPU seconds (user and system, all threads) a process has used so far; undefined where there is no /proc. */
export function cpuSeconds(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after "pid (comm) ": the command name may hold spaces, so count from its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime: fields 14 and 15 of proc(5)
    return Number.isFinite(ticks) ? ticks / USER_HZ : undefined;
  } catch {
    return undefined;
  }
}
