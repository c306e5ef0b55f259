/**
 * What a partner sees of a webhook's deliveries: newest first, keyset-paginated, each with every
 * attempt. Another tenant's webhook is indistinguishable from a missing one.
 */
import type { Knex } from 'knex';
import * as z from 'zod';
import { lazySchema } from '../validation/lazy-schema';
import { ValidationError } from '../errors';
import { fieldErrors } from '../validation/zod-errors';
import type { DeliveryPageView } from '../openapi/schemas/webhooks';
import { findTenantWebhook, type DeliveryState } from './deliveries';
import type { WebhookEvent } from './registry';

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

const once = (name: string) => ({ error: `${name} may be given once.` });

/** GET /webhooks/{id}/deliveries's query string; other parameters are ignored. */
export const deliveryQuerySchema = lazySchema(() =>
  z.object({
    state: z
      .string(once('state'))
      .refine((v) => DELIVERY_STATES.includes(v as DeliveryState), {
        message: `state must be one of ${DELIVERY_STATES.join(', ')}.`,
        params: { code: 'invalid_value' },
      })
      .transform((v) => v as DeliveryState)
      .optional(),
    limit: z
      .string(once('limit'))
      .refine((v) => /^\d{1,3}$/.test(v) && Number(v) >= 1 && Number(v) <= MAX_PAGE, {
        message: `limit must be a whole number from 1 to ${MAX_PAGE}.`,
        params: { code: 'invalid_value' },
      })
      .transform(Number)
      .default(DEFAULT_PAGE),
    cursor: z.string(once('cursor')).optional(),
  }),
);

/** The query string's `state`, `limit` and `cursor`, each checked; every bad one reported. */
export function parseDeliveryQuery(query: Record<string, unknown>): DeliveryQuery {
  const input = { ...query };
  const parsed = deliveryQuerySchema().safeParse(input);
  if (!parsed.success) throw new ValidationError(fieldErrors(parsed.error, input));
  const { state, limit, cursor } = parsed.data;
  if (cursor !== undefined) decodeCursor(cursor);
  return { ...(state ? { state } : {}), limit, ...(cursor ? { cursor } : {}) };
}

const iso = (d: Date | null): string | null => (d ? new Date(d).toISOString() : null);
const instant = (d: Date): string => new Date(d).toISOString();

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
export async function listDeliveries(
  k: Knex,
  tenantId: string,
  webhookId: string,
  q: DeliveryQuery,
): Promise<DeliveryPageView> {
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
      // The column holds the event a delivery was made for: one of WEBHOOK_EVENTS.
      event_type: r.event_type as WebhookEvent,
      state: r.state,
      next_attempt_at: r.state === 'pending' ? iso(r.next_attempt_at) : null,
      created_at: instant(r.created_at),
      updated_at: instant(r.updated_at),
      attempts: attempts
        .filter((a) => a.delivery_id === r.id)
        .map((a) => ({
          attempted_at: instant(a.attempted_at),
          status_code: a.status_code,
          latency_ms: a.latency_ms,
          error: a.error,
        })),
    })),
    next_cursor: rows.length > q.limit && last ? encodeCursor({ t: last.position, id: last.id }) : null,
  };
}
