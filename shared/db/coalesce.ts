/**
 * Group commit for the request path: items that arrive while a write is in flight wait, and go
 * together in the next one. Under load one statement (one round trip, one commit, one pass of the
 * query builder) then carries many requests; when idle, every item is written at once, alone, with
 * no added wait. Nothing is held while an item waits: no connection, no lock, no timer per item.
 */
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
}

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

  const settle = async (batch: Waiting<T, R>[]): Promise<void> => {
    try {
      const results = await write(batch.map((w) => w.item));
      batch.forEach((w, i) => w.resolve(results[i]!));
    } catch (err) {
      // One at a time, as the shared write was: a bad item must not turn into a burst of writes.
      if (batch.length > 1 && opts.itemError(err)) for (const w of batch) await settle([w]);
      else for (const w of batch) w.reject(err);
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
      void settle(queue.splice(0, opts.maxItems)).finally(() => {
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
