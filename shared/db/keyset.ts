/**
 * Keyset pagination, newest first, on (created_at, id): the order of the lists' indexes
 * (tenant_id, created_at DESC, id DESC). A page starts strictly after its cursor, so rows
 * inserted or deleted meanwhile never shift a walk already under way: none is seen twice or skipped.
 *
 * The cursor is opaque to partners: base64url of `<created_at>|<id>`, created_at as PostgreSQL
 * writes it, to the microsecond. A JS Date keeps milliseconds only: a cursor made from one would
 * fall between rows created within one millisecond, and the walk would skip or repeat them.
 */
import type { Knex } from 'knex';

/** Where a page ends: its last row's created_at (UTC, microseconds) and id. */
export interface KeysetPosition {
  at: string;
  id: string;
}

export interface Page<V> {
  data: V[];
  /** Pass as `cursor` for the next page; null on the last one. */
  next_cursor: string | null;
}

const CURSOR_TEXT = /^[A-Za-z0-9_-]{1,200}$/;
const CURSOR_AT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** created_at as the cursor carries it, written by the database so that no digit is lost. */
const CURSOR_AT_SQL = `to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

export const encodeCursor = (p: KeysetPosition): string => Buffer.from(`${p.at}|${p.id}`).toString('base64url');

/** The position a cursor names, or null when it is not one this API issued. */
export function decodeCursor(text: string): KeysetPosition | null {
  if (!CURSOR_TEXT.test(text)) return null;
  const [at, id, ...rest] = Buffer.from(text, 'base64url').toString('utf8').split('|');
  if (rest.length > 0 || !at || !id || !CURSOR_AT.test(at) || !UUID.test(id)) return null;
  // A real instant PostgreSQL can hold: no 2024-02-31, no year 0.
  const date = new Date(at);
  if (Number.isNaN(date.getTime()) || date.toISOString().slice(0, 23) !== at.slice(0, 23)) return null;
  if (at.startsWith('0000')) return null;
  return { at, id };
}

/**
 * One page of `query` (rows of one table that has created_at and id, its filters applied): at
 * most `limit` rows after `cursor`, newest first, each made into its view. One row more than the
 * page is read to know whether another page follows, so the last page says null, never "one
 * more, empty".
 */
export async function keysetPage<R extends { id: string }, V>(
  k: Knex,
  query: Knex.QueryBuilder,
  page: { limit: number; cursor?: KeysetPosition },
  view: (row: R) => V,
): Promise<Page<V>> {
  query
    .select(k.raw(`${CURSOR_AT_SQL} AS cursor_at`))
    .orderBy([
      { column: 'created_at', order: 'desc' },
      { column: 'id', order: 'desc' },
    ])
    .limit(page.limit + 1);
  if (page.cursor) query.whereRaw('(created_at, id) < (?::timestamptz, ?::uuid)', [page.cursor.at, page.cursor.id]);
  const rows = (await query) as (R & { cursor_at: string })[];
  const shown = rows.slice(0, page.limit);
  const last = shown.at(-1);
  return {
    data: shown.map(view),
    next_cursor: rows.length > page.limit && last ? encodeCursor({ at: last.cursor_at, id: last.id }) : null,
  };
}
