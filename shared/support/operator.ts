/**
 * What AIPROD support does with problem reports (from the tenant CLI): see what came in, move a
 * report's status, answer in its thread. Across tenants, so never reachable from the API.
 */
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { NotFoundError } from '../errors';
import { commentsOf } from './reports';
import {
  BUG_VIEW_COLUMNS,
  bugView,
  type BugStatus,
  type BugView,
  type BugViewRow,
  type BugWithComments,
} from './views';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A report with the name of the tenant that filed it. */
export type OperatorBugSummary = BugView & { tenant: string };
export type OperatorBug = BugWithComments & { tenant: string };

/** Reports of every tenant, newest first, of one status if asked. */
export async function recentBugReports(
  k: Knex,
  opts: { status?: BugStatus; limit: number },
): Promise<OperatorBugSummary[]> {
  const rows = (await k('bug_reports as b')
    .join('tenants as t', 't.id', 'b.tenant_id')
    .modify((q) => {
      if (opts.status) q.where('b.status', opts.status);
    })
    .orderBy([
      { column: 'b.created_at', order: 'desc' },
      { column: 'b.id', order: 'desc' },
    ])
    .limit(opts.limit)
    .select(...BUG_VIEW_COLUMNS.map((c) => `b.${c}`), 't.name as tenant')) as (BugViewRow & { tenant: string })[];
  return rows.map((row) => ({ ...bugView(row), tenant: row.tenant }));
}

const withTenant = async (k: Knex, row: BugViewRow & { tenant_id: string }): Promise<OperatorBug> => {
  const tenant = await k('tenants').where({ id: row.tenant_id }).first('name');
  return { ...bugView(row), comments: await commentsOf(k, row.id), tenant: tenant.name as string };
};

/** A report of any tenant with its comments and its tenant's name; NotFoundError for no such report. */
export async function bugReportForOperator(k: Knex, id: string): Promise<OperatorBug> {
  if (!UUID.test(id)) throw new NotFoundError('bug report');
  const row = await k('bug_reports')
    .where({ id })
    .first(...BUG_VIEW_COLUMNS, 'tenant_id');
  if (!row) throw new NotFoundError('bug report');
  return withTenant(k, row as BugViewRow & { tenant_id: string });
}

/**
 * Sets a report's status, adds an operator's comment, or both, in one transaction; the report
 * as the partner now sees it, with its tenant's name. NotFoundError for no such report.
 */
export async function updateBugReport(
  k: Knex,
  id: string,
  change: { status?: BugStatus; comment?: string },
): Promise<OperatorBug> {
  if (!UUID.test(id)) throw new NotFoundError('bug report');
  return k.transaction(async (trx) => {
    const [row] = (await trx('bug_reports')
      .where({ id })
      .update({ updated_at: trx.fn.now(), ...(change.status ? { status: change.status } : {}) })
      .returning([...BUG_VIEW_COLUMNS, 'tenant_id'])) as (BugViewRow & { tenant_id: string })[];
    if (!row) throw new NotFoundError('bug report');
    if (change.comment !== undefined) {
      await trx('bug_comments').insert({ id: randomUUID(), bug_id: id, author: 'operator', body: change.comment });
    }
    return withTenant(trx, row);
  });
}
