/** What the database layer's failures mean to its callers, told apart without loading a driver. */

/** A write that waited its whole turn in the request path's queue (db/coalesce.ts), as a pool's acquire wait. */
export class DatabaseBusyError extends Error {
  override readonly name = 'DatabaseBusyError';
  constructor() {
    super('no database write came free in time');
  }
}

export const databaseBusy = (): Error => new DatabaseBusyError();

/** No pooled connection came free in time (or a query ran past its own timeout), or no queued write did. */
export const isDatabaseBusy = (err: unknown): boolean =>
  err instanceof DatabaseBusyError || (err instanceof Error && err.name === 'KnexTimeoutError');

/**
 * PostgreSQL refused a row for what it holds: a data exception (SQLSTATE class 22) or an integrity
 * constraint (class 23), such as a tenant deleted meanwhile. Another row of the same statement may be fine.
 */
export const isRowError = (err: unknown): boolean => {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^2[23]/.test(code);
};
