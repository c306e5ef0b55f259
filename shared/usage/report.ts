/**
 * GET /usage: a tenant's metered calls and their cost (usage_daily), per UTC day or per endpoint,
 * and the media seconds its completed jobs processed (jobs.result's duration_seconds, by the day
 * each job completed), over a range of days.
 */
import type { Knex } from 'knex';
import * as z from 'zod';
import { now } from '../clock';
import { ValidationError } from '../errors';
import type { UsageReportView } from '../openapi/schemas/account';
import { lazySchema } from '../validation/lazy-schema';
import { fieldErrors } from '../validation/zod-errors';

/** The longest range one request may ask for, and the range when none is given (ending today). */
export const USAGE_RANGE_DAYS = { max: 366, default: 30 } as const;

const DAY_MS = 86_400_000;
const DATE = /^\d{4}-\d{2}-\d{2}$/;

/** A real calendar day PostgreSQL can hold: no 2024-02-30, no year 0. */
function isDay(v: string): boolean {
  const ms = DATE.test(v) && !v.startsWith('0000') ? Date.parse(`${v}T00:00:00Z`) : NaN;
  // Date rolls 2024-02-30 over to March: a real day reads back as itself.
  return !Number.isNaN(ms) && new Date(ms).toISOString().startsWith(v);
}

const dayOf = (ms: number): string => new Date(ms).toISOString().slice(0, 10);
const startOf = (day: string): number => Date.parse(`${day}T00:00:00Z`);

const dayParam = (field: string) =>
  z.string({ error: `${field} must be given once.` }).superRefine((v, ctx) => {
    if (!isDay(v)) {
      ctx.addIssue({
        code: 'custom',
        message: `${field} must be a date, YYYY-MM-DD (UTC).`,
        params: { code: 'invalid_date' },
      });
    }
  });

export const usageQuerySchema = lazySchema(() =>
  z
    .object({
      from: dayParam('from').optional(),
      to: dayParam('to').optional(),
      group_by: z.enum(['day', 'endpoint'], { error: 'group_by must be day or endpoint, given once.' }).default('day'),
    })
    .strict(),
);

export interface UsageQuery {
  /** First and last day of the range, both included, YYYY-MM-DD in UTC. */
  from: string;
  to: string;
  groupBy: 'day' | 'endpoint';
}

/** GET /usage's query string, or a ValidationError with one entry per bad parameter. */
export function parseUsageQuery(query: unknown): UsageQuery {
  const input = { ...(query as Record<string, unknown>) };
  const parsed = usageQuerySchema().safeParse(input);
  if (!parsed.success) throw new ValidationError(fieldErrors(parsed.error, input));
  const to = parsed.data.to ?? dayOf(now());
  const from = parsed.data.from ?? dayOf(startOf(to) - (USAGE_RANGE_DAYS.default - 1) * DAY_MS);
  const days = (startOf(to) - startOf(from)) / DAY_MS + 1;
  if (days < 1) {
    throw new ValidationError([{ field: 'from', code: 'invalid_range', message: 'from must not be after to.' }]);
  }
  if (days > USAGE_RANGE_DAYS.max) {
    throw new ValidationError([
      {
        field: 'from',
        code: 'range_too_long',
        message: `The range may span ${USAGE_RANGE_DAYS.max} days at most; this one spans ${days}.`,
      },
    ]);
  }
  return { from, to, groupBy: parsed.data.group_by };
}

interface Amounts {
  calls: number;
  cost: number;
  cost_micros: number;
}

export type UsageRow = ({ day: string; media_seconds: number } & Amounts) | ({ endpoint: string } & Amounts);

/** What GET /usage answers: the documented shape (shared/openapi/schemas/account.ts). */
export type UsageReport = UsageReportView;

const amounts = (calls: number, costMicros: number): Amounts => ({
  calls,
  cost: costMicros / 1e6,
  cost_micros: costMicros,
});

/** Seconds to the millisecond: sums of many durations carry float noise beyond that. */
const seconds = (v: unknown): number => Math.round(Number(v ?? 0) * 1000) / 1000;

export async function usageReport(k: Knex, tenantId: string, q: UsageQuery): Promise<UsageReport> {
  const key = q.groupBy === 'day' ? 'day::text' : 'endpoint';
  const calls: { key: string; calls: string; cost_micros: string }[] = await k('usage_daily')
    .where('tenant_id', tenantId)
    .whereBetween('day', [q.from, q.to])
    .groupByRaw('1')
    .orderByRaw('1')
    .select(k.raw(`${key} AS key`), k.raw('sum(calls) AS calls'), k.raw('sum(cost_micros) AS cost_micros'));
  const media: { day: string; seconds: string }[] = await k('jobs')
    .where({ tenant_id: tenantId, status: 'COMPLETED' })
    .where('completed_at', '>=', new Date(startOf(q.from)))
    .where('completed_at', '<', new Date(startOf(q.to) + DAY_MS))
    .groupByRaw('1')
    .select(
      k.raw("((completed_at AT TIME ZONE 'UTC')::date)::text AS day"),
      k.raw("sum((result->>'duration_seconds')::numeric) AS seconds"),
    );

  const mediaByDay = new Map(media.map((m) => [m.day, seconds(m.seconds)]));
  let data: UsageRow[];
  if (q.groupBy === 'endpoint') {
    data = calls.map((c) => ({ endpoint: c.key, ...amounts(Number(c.calls), Number(c.cost_micros)) }));
  } else {
    // Every day with calls or with media, in order.
    const byDay = new Map(calls.map((c) => [c.key, c]));
    data = [...new Set([...byDay.keys(), ...mediaByDay.keys()])].sort().map((day) => {
      const c = byDay.get(day);
      return {
        day,
        ...amounts(Number(c?.calls ?? 0), Number(c?.cost_micros ?? 0)),
        media_seconds: mediaByDay.get(day) ?? 0,
      };
    });
  }
  const totalCalls = calls.reduce((n, c) => n + Number(c.calls), 0);
  const totalCost = calls.reduce((n, c) => n + Number(c.cost_micros), 0);
  const totalMedia = media.reduce((n, m) => n + Number(m.seconds ?? 0), 0);
  return {
    from: q.from,
    to: q.to,
    group_by: q.groupBy,
    data,
    total: { ...amounts(totalCalls, totalCost), media_seconds: seconds(totalMedia) },
  };
}
