/**
 * A process of its own, as a deployed function or `npm start` runs: one function of the manifest
 * under the functions-framework (`functions-framework --target=<name>`, its TypeScript loaded
 * through tsx), or the whole local stack (scripts/local-stack.ts). The test reads its log lines
 * (JSON, one a line) and can signal it as Cloud Run or a terminal does.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { freePort } from '../../shared/net/free-port';
import { until } from './webhook-fixtures';

const ROOT = join(__dirname, '..', '..');
const FRAMEWORK_MAIN = join(dirname(require.resolve('@google-cloud/functions-framework')), 'main.js');

export interface ChildServer {
  url: string;
  proc: ChildProcessWithoutNullStreams;
  /** Every line it has written to stdout so far. */
  lines: string[];
  /** Its exit code once it has exited (null when a signal ended it). */
  exited: Promise<number | null>;
  /** The first log line (parsed JSON) whose `message` is `message` and that `matches`, waiting for it. */
  logLine(message: string, matches?: (line: Record<string, any>) => boolean): Promise<Record<string, any>>;
  /** Every log line so far whose `message` is `message`. */
  logLines(message: string): Record<string, any>[];
  /** SIGKILL, for a test's cleanup; nothing when it has already exited. */
  kill(): Promise<void>;
}

function parsed(line: string): Record<string, any> | null {
  try {
    const value: unknown = JSON.parse(line);
    return value && typeof value === 'object' ? (value as Record<string, any>) : null;
  } catch {
    return null;
  }
}

async function start(
  args: string[],
  env: Record<string, string>,
  port: number,
  up: { path: string; status: (status: number) => boolean },
): Promise<ChildServer> {
  const proc = spawn(process.execPath, ['--import', 'tsx', ...args], {
    cwd: ROOT,
    // Logs are what the test reads: on even under NODE_ENV=test.
    env: { ...process.env, LOG_IN_TESTS: '1', PORT: String(port), ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  createInterface({ input: proc.stdout }).on('line', (line) => lines.push(line));
  proc.stderr.on('data', (chunk: Buffer) => process.stderr.write(chunk));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  let gone = false;
  void exited.then(() => (gone = true));
  const logLines = (message: string) =>
    lines.map(parsed).filter((l): l is Record<string, any> => l !== null && l.message === message);
  const child: ChildServer = {
    url: `http://127.0.0.1:${port}`,
    proc,
    lines,
    exited,
    logLines,
    logLine: (message, matches = () => true) =>
      until(() => {
        if (gone && !logLines(message).some(matches)) throw new Error(`exited before logging "${message}"`);
        return logLines(message).find(matches);
      }, `the log line "${message}"`),
    async kill() {
      if (!gone) proc.kill('SIGKILL');
      await exited;
    },
  };
  await until(
    async () => {
      if (gone) throw new Error(`${args.join(' ')} exited before it was up:\n${lines.join('\n')}`);
      return fetch(`${child.url}${up.path}`).then(
        (res) => up.status(res.status),
        () => false,
      );
    },
    'the child to be up',
    60_000,
  );
  return child;
}

/** One function under the functions-framework, on a port of its own, as Cloud Run starts it. */
export async function startFunction(name: string, env: Record<string, string> = {}): Promise<ChildServer> {
  const port = await freePort();
  return start(
    [FRAMEWORK_MAIN, `--target=${name}`, `--source=${join(ROOT, 'functions', name, 'index.ts')}`, `--port=${port}`],
    // Cloud Run names the service; the pool reports it to PostgreSQL as application_name.
    { K_SERVICE: name, ...env },
    port,
    // Any answer: the function is loaded once the framework listens.
    { path: '/', status: () => true },
  );
}

/** `npm start`'s stack (scripts/local-stack.ts), on a port of its own. */
export async function startLocalStack(env: Record<string, string> = {}): Promise<ChildServer> {
  const port = await freePort();
  // The gateway answers 503 until every function is mounted.
  return start([join(ROOT, 'scripts', 'local-stack.ts')], { K_SERVICE: 'local-stack', ...env }, port, {
    path: '/health/live',
    status: (status) => status === 200,
  });
}
