/**
 * The request path's shared writes on one pool (coalesce.ts), all on one policy: one write in
 * flight, so batches grow as large as the load makes them; a wait bounded as a pool's acquire is,
 * past which the item is refused as busy (503 service_busy); answers a slice per loop turn.
 */
import { config } from '../config';
import { coalesce } from './coalesce';
import { databaseBusy } from './errors';

/**
 * A tenth of a full statement's answers per turn of the event loop, so that other sockets are
 * read, and new connections accepted, between slices.
 */
const ANSWERS_PER_TURN = 10;

export function pooledWrites<T, R>(
  write: (items: T[]) => Promise<R[]>,
  opts: { maxItems: number; itemError: (err: unknown) => boolean },
): (item: T) => Promise<R> {
  return coalesce(write, {
    inFlight: 1,
    maxItems: opts.maxItems,
    maxWaitMs: config().DATABASE_ACQUIRE_TIMEOUT_MS,
    expired: databaseBusy,
    itemError: opts.itemError,
    answersPerTurn: ANSWERS_PER_TURN,
  });
}
