/**
 * One last flush when the instance is stopped. Cloud Run sends SIGTERM and kills the instance
 * 10 s later, but the functions-framework answers SIGTERM with an immediate process.exit() (its
 * invoker.js), which would drop whatever still waits to be written. So on SIGTERM (and SIGINT, a
 * local Ctrl-C) the flush starts at once and an exit, whoever asks for it, waits until the flush is
 * done, FINAL_FLUSH_MS at most. When nothing else listens for the signal, its default (ending the
 * process) is carried out here once the flush is done.
 */
const FINAL_FLUSH_MS = 5_000;

const SIGNALS = { SIGTERM: 143, SIGINT: 130 } as const;

let installed = false;
let flushing: Promise<void> | undefined;

function onSignal(signal: keyof typeof SIGNALS, flush: () => Promise<void>): void {
  if (flushing) return;
  const deadline = new Promise<void>((resolve) => setTimeout(resolve, FINAL_FLUSH_MS).unref());
  const done = Promise.race([flush(), deadline]);
  flushing = done;
  const exit = process.exit.bind(process);
  process.exit = ((code?: number) => void done.finally(() => exit(code))) as typeof process.exit;
  // Alone on this signal, this listener took its default away: end the process as it would have.
  if (process.listenerCount(signal) === 1) void done.finally(() => exit(SIGNALS[signal]));
}

/** Runs `flush` (which must not reject) before the process ends on SIGTERM or SIGINT; once per process. */
export function flushBeforeExit(flush: () => Promise<void>): void {
  if (installed) return;
  installed = true;
  for (const signal of Object.keys(SIGNALS) as (keyof typeof SIGNALS)[]) {
    // First in line, so the flush has started before another listener exits.
    process.prependListener(signal, () => onSignal(signal, flush));
  }
}
