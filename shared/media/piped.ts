import type { Readable } from 'node:stream';
import { SAMPLE_RATE } from './audio-format';
import { runFfmpeg, type RunOptions, type RunResult } from './run-ffmpeg';

/** How runs hand each other sound: raw float, 48 kHz stereo, as the graphs compute it (format options of `pipe:N`). */
export const PIPED_PCM = ['-f', 'f32le', '-ar', String(SAMPLE_RATE), '-ac', '2'] as const;

/** One ffmpeg run of a pipeline. */
export interface PipedRun {
  args: readonly string[];
  /**
   * Earlier runs of the pipeline whose output (what they write to `pipe:1`) this one reads, as
   * `pipe:3`, `pipe:4`, ... in this order. Every run but the last is read by exactly one other.
   */
  reads?: readonly number[];
}

/**
 * Runs ffmpeg runs that feed one another through pipes, ending in the last one: every run on a
 * core of its own, the data through the kernel, never a file. ffmpeg runs a graph's filters and its
 * encoders in one thread, so this is how the two cores share one output's work (a mix made in one
 * run, encoded in another, metered or muxed in a third). `options` are the last run's. Resolves
 * with the last run's result once every run has ended. The first failure stops the other runs and
 * is the one thrown: a reader that fails leaves its writers writing into a closed pipe, a writer
 * that fails ends its reader's input early, and neither of those is the cause.
 */
export async function runPiped(runs: readonly PipedRun[], options: RunOptions = {}): Promise<RunResult> {
  const readers = runs.flatMap((run, i) => (run.reads ?? []).map((from) => ({ from, by: i })));
  runs.slice(0, -1).forEach((_, i) => {
    const by = readers.filter((r) => r.from === i);
    if (by.length !== 1 || by[0]!.by <= i) throw new RangeError(`run ${i} must be read by exactly one later run`);
  });
  const stop = new AbortController();
  const abort = (): void => stop.abort();
  options.signal?.addEventListener('abort', abort, { once: true });
  let failure: { reason: unknown } | undefined;
  const watch = <T>(run: Promise<T>): Promise<T> =>
    run.catch((reason: unknown) => {
      failure ??= { reason };
      stop.abort();
      throw reason;
    });
  try {
    const outputs: Readable[] = [];
    const running = runs.map((run, i) => {
      const last = i === runs.length - 1;
      const pipes = (run.reads ?? []).flatMap((from) => outputs[from] ?? []);
      const started = watch(
        runFfmpeg(run.args, {
          ...(last ? options : {}),
          signal: stop.signal,
          pipes,
          ...(last ? {} : { onStdout: (stdout: Readable) => void (outputs[i] = stdout) }),
        }),
      );
      // The reader holds its own copies of its pipes now: this process must neither read them nor
      // keep them open, or a writer whose reader died would wait on a full pipe for ever.
      for (const pipe of pipes) pipe.destroy();
      return started;
    });
    const settled = await Promise.allSettled(running);
    if (failure) throw failure.reason;
    return (settled.at(-1) as PromiseFulfilledResult<RunResult>).value;
  } finally {
    options.signal?.removeEventListener('abort', abort);
  }
}
