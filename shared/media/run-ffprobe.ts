import { ffprobePath } from './ffprobe-binary';
import { runTool, type RunOptions, type RunResult } from './run-tool';

export function runFfprobe(args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  return runTool(ffprobePath(), ['-hide_banner', '-loglevel', options.logLevel ?? 'error', ...args], options);
}
