/**
 * Group commit for the request path: items that arrive while a write is in flight wait, and go
 * together in the next one. Under load one statement (one round trip, one commit, one pass of the
 * query builder) then carries many requests; when idle, every item is written at once, alone, with
 * no added wait. Nothing is held while an item waits: no connection, no lock, no timer per item.
 *
 * A write's answers are handed out a slice per turn of the event loop, not all at once: the work
 * each answer sets off (the rest of its request, its response, the client's next request) would
 * otherwise hold the loop for the whole batch, and a turn is also when Node accepts a new
 * connection, one per turn (libuv). With 100 answers a turn, turns of 20 to 70 ms left a burst
 * of new clients waiting seconds in the kernel's accept queue.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';

export interface CoalesceOptions {
  /** Writes in flight at once; the fewer, the larger the batches under load. */
  inFlight: number;
  /** The most items one write carries. */
  maxItems: number;
  /**
   * How long an item may wait for its write to start, as a pool bounds its acquire wait: past
   * that it is refused with `expired()`, so overload is shed rather than queued without end.
   */
  maxWaitMs: number;
  expired: () => Error;
  /**
   * Whether a failed write of several items failed for one item's content (a constraint, say):
   * then each is written again alone, so that failure is that item's own. Any other failure (the
   * database unreachable or busy) is every item's, and each gets it at once.
   */
  itemError: (err: unknown) => boolean;
  /** Answers handed out per turn of the event loop. */
  answersPerTurn: number;
}

type Outcome<R> = { ok: true; value: R } | { ok: false; error: unknown };

interface Waiting<T, R> {
  item: T;
  since: number;
  resolve: (result: R) => void;
  reject: (err: unknown) => void;
}

/** `write` gets items in arrival order and answers one result per item, in that order. */
export function coalesce<T, R>(write: (items: T[]) => Promise<R[]>, opts: CoalesceOptions): (item: T) => Promise<R> {
  let queue: Waiting<T, R>[] = [];
  let running = 0;
  let watchdog: NodeJS.Timeout | undefined;

  // Never rejects: every item gets an outcome.
  const outcomes = async (items: T[]): Promise<Outcome<R>[]> => {
    try {
      return (await write(items)).map((value) => ({ ok: true, value }));
    } catch (error) {
      if (items.length === 1 || !opts.itemError(error)) return items.map(() => ({ ok: false, error }));
      // One at a time, as the shared write was: a bad item must not turn into a burst of writes.
      const each: Outcome<R>[] = [];
      for (const item of items) each.push(...(await outcomes([item])));
      return each;
    }
  };

  // A slice of answers per turn; the next write waits for the last slice, so that what arrives
  // meanwhile joins it and batches stay large.
  const settle = async (batch: Waiting<T, R>[]): Promise<void> => {
    const results = await outcomes(batch.map((w) => w.item));
    for (let start = 0; start < batch.length; start += opts.answersPerTurn) {
      if (start > 0) await nextTurn();
      for (let i = start; i < Math.min(start + opts.answersPerTurn, batch.length); i++) {
        const outcome = results[i]!;
        if (outcome.ok) batch[i]!.resolve(outcome.value);
        else batch[i]!.reject(outcome.error);
      }
    }
  };

  const expire = (): void => {
    watchdog = undefined;
    const cutoff = performance.now() - opts.maxWaitMs;
    const late = queue.filter((w) => w.since <= cutoff);
    if (late.length > 0) queue = queue.filter((w) => w.since > cutoff);
    for (const w of late) w.reject(opts.expired());
    arm();
  };

  // One timer for the oldest waiting item, not one per item: under load the queue is rarely empty.
  const arm = (): void => {
    if (watchdog || queue.length === 0) return;
    watchdog = setTimeout(expire, Math.max(0, queue[0]!.since + opts.maxWaitMs - performance.now()));
    watchdog.unref();
  };

  const pump = (): void => {
    while (running < opts.inFlight && queue.length > 0) {
      running++;
      void settle(queue.splice(0, opts.maxItems)).then(() => {
        running--;
        pump();
      });
    }
    arm();
  };

  return (item) =>
    new Promise<R>((resolve, reject) => {
      queue.push({ item, since: performance.now(), resolve, reject });
      pump();
    });
}
