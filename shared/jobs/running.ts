/**
 * The jobs this instance runs, so that its shutdown gives them back (lifecycle/shutdown.ts): in the
 * `release` phase each is aborted with a ShuttingDown reason (its ffmpeg stopped, its scratch files
 * removed, as a cancel does) and processJob releases its lease (lease.ts `releaseJob`); the phase
 * ends once every job has let go. A job claimed while the instance is already stopping is stopped
 * at once.
 */
import { installShutdown, isShuttingDown, onShutdown, ShuttingDown } from '../lifecycle/shutdown';

const running = new Set<AbortController>();
let allGone: (() => void) | undefined;
let registered = false;

async function releaseAll(): Promise<void> {
  const gone = new Promise<void>((resolve) => {
    allGone = resolve;
    if (running.size === 0) resolve();
  });
  for (const job of running) job.abort(new ShuttingDown());
  await gone;
  allGone = undefined;
}

/** Counts one running job, which `abort` stops at shutdown, until the result is called. */
export function trackRunning(abort: AbortController): () => void {
  if (!registered) {
    registered = true;
    onShutdown('release', releaseAll);
    installShutdown();
  }
  running.add(abort);
  if (isShuttingDown()) abort.abort(new ShuttingDown());
  return () => {
    running.delete(abort);
    if (running.size === 0) allGone?.();
  };
}
