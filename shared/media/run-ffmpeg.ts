import { ffmpegPath } from './binaries';
import { runTool, type RunOptions, type RunResult } from './run-tool';

export type { RunOptions, RunResult } from './run-tool';

export function runFfmpeg(args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const head = ['-hide_banner', '-nostdin', '-loglevel', options.logLevel ?? 'warning'];
  if (options.onProgress) head.push('-progress', 'pipe:1', '-nostats');
  return runTool(ffmpegPath(), [...head, ...args], options);
}
