/**
 * What a partner sees of a webhook's deliveries: newest first, keyset-paginated, each with every
 * attempt. Another tenant's webhook is indistinguishable from a missing one.
 */
import type { Knex } from 'knex';
import { ValidationError } from '../errors';
import { findTenantWebhook, type DeliveryState } from './deliveries';

export const DELIVERY_STATES: readonly DeliveryState[] = ['pending', 'succeeded', 'failed'];
export const DEFAULT_PAGE = 20;
export const MAX_PAGE = 100;

export interface DeliveryQuery {
  state?: DeliveryState;
  limit: number;
  cursor?: string;
}

interface Position {
  /** created_at to the microsecond, as PostgreSQL writes it in UTC. */
  t: string;
  id: string;
}

const encodeCursor = (p: Position): string => Buffer.from(JSON.stringify(p)).toString('base64url');

function decodeCursor(cursor: string): Position {
  try {
    const p = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as Position;
    if (
      typeof p.t === 'string' &&
      /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/.test(p.t) &&
      typeof p.id === 'string' &&
      /^[0-9a-f-]{36}$/i.test(p.id)
    )
      return p;
  } catch {
    // Reported below.
  }
  throw new ValidationError([
    { field: 'cursor', code: 'invalid_cursor', message: 'cursor must be a next_cursor this endpoint returned.' },
  ]);
}

/** The query string's `state`, `limit` and `cursor`, each checked; every bad one reported. */
export function parseDeliveryQuery(query: Record<string, unknown>): DeliveryQuery {
  const errors: { field: string; code: string; message: string }[] = [];
  const one = (name: string): string | undefined => {
    const v = query[name];
    if (v === undefined) return undefined;
    if (typeof v !== 'string') {
      errors.push({ field: name, code: 'invalid_type', message: `${name} may be given once.` });
      return undefined;
    }
    return v;
  };
  const state = one('state');
  const limit = one('limit');
  const cursor = one('cursor');
  if (state !== undefined && !DELIVERY_STATES.includes(state as DeliveryState)) {
    errors.push({
      field: 'state',
      code: 'invalid_value',
      message: `state must be one of ${DELIVERY_STATES.join(', ')}.`,
    });
  }
  if (limit !== undefined && !(/^\d{1,3}$/.test(limit) && Number(limit) >= 1 && Number(limit) <= MAX_PAGE)) {
    errors.push({
      field: 'limit',
      code: 'invalid_value',
      message: `limit must be a whole number from 1 to ${MAX_PAGE}.`,
    });
  }
  if (errors.length) throw new ValidationError(errors);
  if (cursor !== undefined) decodeCursor(cursor);
  return {
    ...(state ? { state: state as DeliveryState } : {}),
    limit: limit === undefined ? DEFAULT_PAGE : Number(limit),
    ...(cursor ? { cursor } : {}),
  };
}

const iso = (d: Date | null): string | null => (d ? new Date(d).toISOString() : null);

interface ListedRow {
  id: string;
  event_id: string;
  event_type: string;
  state: DeliveryState;
  attempts: number;
  next_attempt_at: Date | null;
  created_at: Date;
  updated_at: Date;
  position: string;
}

interface AttemptRow {
  delivery_id: string;
  attempted_at: Date;
  status_code: number | null;
  latency_ms: number;
  error: string | null;
}

/** GET /webhooks/{id}/deliveries: one page, newest first, and the cursor of the next (null on the last). */
export async function listDeliveries(k: Knex, tenantId: string, webhookId: string, q: DeliveryQuery) {
  const webhook = await findTenantWebhook(k, tenantId, webhookId);
  const query = k('webhook_deliveries')
    .where({ webhook_id: webhook.id })
    .select(
      'id',
      'event_id',
      'event_type',
      'state',
      'attempts',
      'next_attempt_at',
      'created_at',
      'updated_at',
      k.raw(`to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS position`),
    )
    .orderBy([
      { column: 'created_at', order: 'desc' },
      { column: 'id', order: 'desc' },
    ])
    .limit(q.limit + 1);
  if (q.state) query.where({ state: q.state });
  if (q.cursor) {
    const at = decodeCursor(q.cursor);
    query.whereRaw('(created_at, id) < (?::timestamptz, ?::uuid)', [at.t, at.id]);
  }
  const rows: ListedRow[] = await query;
  const page = rows.slice(0, q.limit);
  const attempts: AttemptRow[] = page.length
    ? await k('webhook_attempts')
        .whereIn(
          'delivery_id',
          page.map((r) => r.id),
        )
        .orderBy([
          { column: 'attempted_at', order: 'asc' },
          { column: 'id', order: 'asc' },
        ])
        .select('delivery_id', 'attempted_at', 'status_code', 'latency_ms', 'error')
    : [];
  const last = page.at(-1);
  return {
    data: page.map((r) => ({
      delivery_id: r.id,
      event_id: r.event_id,
      event_type: r.event_type,
      state: r.state,
      next_attempt_at: r.state === 'pending' ? iso(r.next_attempt_at) : null,
      created_at: iso(r.created_at),
      updated_at: iso(r.updated_at),
      attempts: attempts
        .filter((a) => a.delivery_id === r.id)
        .map((a) => ({
          attempted_at: iso(a.attempted_at),
          status_code: a.status_code,
          latency_ms: a.latency_ms,
          error: a.error,
        })),
    })),
    next_cursor: rows.length > q.limit && last ? encodeCursor({ t: last.position, id: last.id }) : null,
  };
}
