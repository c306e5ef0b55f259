/**
 * A tenant's jobs as GET /jobs lists them: filtered by status, recipe, batch and creation time,
 * newest first, a keyset page at a time (idx_jobs_tenant_created). Every query is bounded by the
 * tenant: another tenant's batch id, or its cursor, simply finds nothing.
 */
import type { Knex } from 'knex';
import * as z from 'zod';
import { keysetPage, type Page } from '../db/keyset';
import { ValidationError } from '../errors';
import { pageParams } from '../validation/page-params';
import { lazySchema } from '../validation/lazy-schema';
import { fieldErrors } from '../validation/zod-errors';
import { eventsUrl } from './events-url';
import { RECIPES, type Recipe } from './request';
import { STATUS_COLUMNS, statusView, type JobStatus, type JobStatusRow } from './views';
import type { JobStatusWithEventsView } from '../openapi/schemas/jobs';

export const JOB_STATUSES = [
  'PENDING',
  'PROCESSING',
  'COMPLETED',
  'FAILED',
  'CANCELLED',
] as const satisfies readonly JobStatus[];

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|[+-](\d{2}):(\d{2}))$/;
const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function custom(ctx: z.RefinementCtx, code: string, message: string): void {
  ctx.addIssue({ code: 'custom', message, params: { code } });
}

/**
 * An RFC 3339 timestamp (`T` and `Z` in either case), upper-cased, or null. Each field is checked
 * here because neither a JS Date (which turns 2024-02-31 into March 2) nor PostgreSQL (which
 * would answer with an error) should be the judge. The text itself goes to PostgreSQL, so
 * fractions finer than a millisecond are kept.
 */
function rfc3339(value: string): string | null {
  const text = value.toUpperCase();
  const m = RFC3339.exec(text);
  if (!m) return null;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const days = month === 2 && leap ? 29 : DAYS_IN_MONTH[month - 1];
  // PostgreSQL has no year 0; a second of 60 is the leap second RFC 3339 allows.
  if (year < 1 || days === undefined || day < 1 || day > days || hour > 23 || minute > 59 || second > 60) return null;
  if (m[9] !== undefined && (Number(m[9]) > 23 || Number(m[10]) > 59)) return null;
  return text;
}

const once = (name: string) => ({ error: `${name} must be given once.` });

const timestamp = (name: string) =>
  z
    .string(once(name))
    .transform((v, ctx) => {
      const text = rfc3339(v);
      if (text === null) {
        // A '+' the client did not encode reaches us as a space.
        const hint = v.includes(' ') ? ' (send an offset\'s "+" as %2B)' : '';
        custom(ctx, 'invalid_timestamp', `${name} must be an RFC 3339 timestamp such as 2025-01-31T09:30:00Z${hint}.`);
        return z.NEVER;
      }
      return text;
    })
    .optional();

export const listJobsSchema = lazySchema(() =>
  z
    .object({
      ...pageParams(),
      status: z
        .string(once('status'))
        .transform((v, ctx) => {
          const given = v.split(',');
          const unknown = given.filter((s) => !(JOB_STATUSES as readonly string[]).includes(s));
          if (unknown.length > 0) {
            custom(
              ctx,
              'unsupported_value',
              `status must be one or more of ${JOB_STATUSES.join(', ')}, comma-separated; not "${unknown.join('", "')}".`,
            );
            return z.NEVER;
          }
          return [...new Set(given)] as JobStatus[];
        })
        .optional(),
      recipe: z
        .string(once('recipe'))
        .refine((v) => (RECIPES as readonly string[]).includes(v), {
          message: `recipe must be one of ${RECIPES.join(', ')}.`,
          params: { code: 'unsupported_value' },
        })
        .transform((v) => v as Recipe)
        .optional(),
      batch_id: z
        .string(once('batch_id'))
        .refine((v) => UUID.test(v), { message: 'batch_id must be a UUID.', params: { code: 'invalid_uuid' } })
        .transform((v) => v.toLowerCase())
        .optional(),
      created_after: timestamp('created_after'),
      created_before: timestamp('created_before'),
    })
    .strict(),
);

export type ListJobsQuery = z.infer<ReturnType<typeof listJobsSchema>>;

/** GET /jobs's query string, or a ValidationError with one entry per bad parameter. */
export function parseListJobs(query: unknown): ListJobsQuery {
  const input = { ...(query as Record<string, unknown>) };
  const parsed = listJobsSchema().safeParse(input);
  if (!parsed.success) throw new ValidationError(fieldErrors(parsed.error, input));
  return parsed.data;
}

/** One job of the list: what GET /pipeline/{id} answers for it, its signed events URL included. */
export type JobListItem = JobStatusWithEventsView;

function listItem(tenantId: string, row: JobStatusRow, nowMs: number): JobListItem {
  const events = eventsUrl(row.id, tenantId, nowMs);
  return { ...statusView(row), events_url: events.url, events_url_expires_at: events.expiresAt.toISOString() };
}

/**
 * One page of the tenant's jobs that match every filter given: `status` any of those listed,
 * created strictly after `created_after` and strictly before `created_before`.
 */
export async function listJobs(
  k: Knex,
  tenantId: string,
  query: ListJobsQuery,
  nowMs = Date.now(),
): Promise<Page<JobListItem>> {
  const rows = k('jobs')
    .where({ tenant_id: tenantId })
    .select(...STATUS_COLUMNS);
  if (query.status) rows.whereIn('status', query.status);
  if (query.recipe) rows.where({ recipe: query.recipe });
  if (query.batch_id) rows.where({ batch_id: query.batch_id });
  if (query.created_after) rows.whereRaw('created_at > ?::timestamptz', [query.created_after]);
  if (query.created_before) rows.whereRaw('created_at < ?::timestamptz', [query.created_before]);
  return keysetPage(k, rows, query, (row: JobStatusRow) => listItem(tenantId, row, nowMs));
}
