import { spawn, type ChildProcessByStdio, type StdioOptions } from 'node:child_process';
import { getPriority, setPriority } from 'node:os';
import { basename } from 'node:path';
import type { Readable } from 'node:stream';
import { MediaError } from './errors';

/** How much of stderr an error carries: enough for ffmpeg's reason, not the whole log. */
const ERROR_DETAIL_BYTES = 4096;
/** How much stderr is kept: analysis filters print their report last, a few hundred bytes long. */
const STDERR_KEEP_BYTES = 16384;

export interface RunOptions {
  /** Working directory: lets filter arguments name files by plain relative names, unescaped. */
  cwd?: string;
  signal?: AbortSignal;
  /** Output position in seconds, from ffmpeg's `-progress pipe:1` report. */
  onProgress?: (seconds: number) => void;
  /** `info` when a filter's report (loudnorm's JSON) must be read back from stderr. */
  logLevel?: 'error' | 'warning' | 'info';
  /** Another run's output (see `onStdout`), handed to ffmpeg as its file descriptors 3, 4, ... (`-i pipe:3`). */
  pipes?: readonly Readable[];
  /** Handed ffmpeg's stdout as it starts, for a run that writes to `pipe:1` for another to read; it is not collected. */
  onStdout?: (stdout: Readable) => void;
}

export interface RunResult {
  stdout: string;
  /** The last STDERR_KEEP_BYTES of stderr. */
  stderr: string;
}

/**
 * ffmpeg honours `http_proxy` even for the job's input served on loopback (shared/net): a proxy
 * set in the environment must never be asked for 127.0.0.1.
 */
function toolEnv(): NodeJS.ProcessEnv {
  const env = process.env;
  return { ...env, no_proxy: [env.no_proxy ?? env.NO_PROXY, '127.0.0.1', 'localhost'].filter(Boolean).join(',') };
}

/**
 * Runs one of the media tools (runFfmpeg, runFfprobe) to its end: its stdout collected or handed
 * on, the tail of its stderr kept, its failure or a stop by `signal` as a MediaError.
 */
export function runTool(bin: string, args: string[], options: RunOptions): Promise<RunResult> {
  const tool = basename(bin);
  const { signal, onProgress } = options;
  if (signal?.aborted) return Promise.reject(aborted(tool));

  return new Promise<RunResult>((resolve, reject) => {
    const stdio: StdioOptions = ['ignore', 'pipe', 'pipe', ...(options.pipes ?? [])];
    const child = spawn(bin, args, { cwd: options.cwd, stdio, env: toolEnv() }) as ChildProcessByStdio<
      null,
      Readable,
      Readable
    >;
    yieldToRequests(child.pid);
    const stdout: string[] = [];
    let stderr = '';
    let pending = '';
    let wasAborted = false;

    const onAbort = (): void => {
      wasAborted = true;
      child.kill('SIGKILL');
    };
    signal?.addEventListener('abort', onAbort, { once: true });

    const onStdout = (chunk: string): void => {
      if (!onProgress) {
        stdout.push(chunk);
        return;
      }
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        const match = /^out_time_us=(\d+)/.exec(line);
        if (match?.[1]) onProgress(Number(match[1]) / 1e6);
      }
    };
    if (options.onStdout) options.onStdout(child.stdout);
    else child.stdout.setEncoding('utf8').on('data', onStdout);
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      stderr = (stderr + chunk).slice(-STDERR_KEEP_BYTES);
    });

    child.on('error', (err) => {
      signal?.removeEventListener('abort', onAbort);
      reject(new MediaError('ffmpeg_failed', `cannot start ${tool} (${bin}): ${err.message}`));
    });
    child.on('close', (code, killedBy) => {
      signal?.removeEventListener('abort', onAbort);
      if (wasAborted) return reject(aborted(tool));
      if (code === 0) return resolve({ stdout: stdout.join(''), stderr });
      const detail = stderr.slice(-ERROR_DETAIL_BYTES).trim();
      const reason = lastLine(detail) ?? (killedBy ? `killed by ${killedBy}` : `exit code ${code}`);
      reject(new MediaError('ffmpeg_failed', `${tool} failed: ${reason}`, detail));
    });
  });
}

/**
 * How much lower than this process the media tools run (nice values are 0 to 19 above it). They
 * take every core they can get for seconds; at the same priority, the process that started them
 * (the job's heartbeat, and locally every HTTP function beside the workers) waits behind them for
 * a core, and even spawn() stalls while the new child waits for one to exec on. Lowered, they
 * still have every core nothing else wants.
 */
const TOOL_NICENESS = 10;

/**
 * Lowers a just-started tool's priority. Its threads are made later, as it sets up its graph, and
 * inherit it. A process that cannot be reniced (gone already, or a platform without nice) runs as
 * it is: priority is a courtesy, never a reason to fail.
 */
function yieldToRequests(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    setPriority(pid, Math.min(19, getPriority() + TOOL_NICENESS));
  } catch {
    // Exited before it could be reniced, or not allowed here: it runs at the default priority.
  }
}

function aborted(tool: string): MediaError {
  return new MediaError('processing_timeout', `${tool} was stopped: the job ran out of time or was cancelled`);
}

/** The last line that says something: ffmpeg ends most failures with a bare "Conversion failed!". */
function lastLine(text: string): string | undefined {
  const lines = text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && line !== 'Conversion failed!');
  return lines[lines.length - 1];
}
