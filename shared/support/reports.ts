/**
 * Problem reports as a partner files and follows them: filing one (about one of its own jobs, if
 * any), the list, one report with its thread, and comments. Another tenant's report is not
 * found, exactly as a missing one; another tenant's job is a field error, exactly as a missing job.
 */
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { keysetPage, type Page } from '../db/keyset';
import { ConflictError, NotFoundError, ValidationError } from '../errors';
import type { CreateBugRequest, ListBugsQuery } from './requests';
import {
  BUG_VIEW_COLUMNS,
  bugView,
  COMMENT_VIEW_COLUMNS,
  commentView,
  type BugView,
  type BugViewRow,
  type BugWithComments,
  type CommentView,
  type CommentViewRow,
} from './views';

/** A partner's comments on one report: enough for any conversation, and a bound on the report's size. */
export const PARTNER_COMMENT_LIMIT = 100;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Files a report. The job check and the insert are one statement: the row is written only when
 * the job is the tenant's, so no job can be named that the tenant cannot see.
 */
export async function createBugReport(k: Knex, tenantId: string, request: CreateBugRequest): Promise<BugWithComments> {
  const result = await k.raw(
    `INSERT INTO bug_reports (id, tenant_id, job_id, title, description, steps, environment)
     SELECT :id, :tenantId, :jobId::uuid, :title, :description, :steps::jsonb, :environment
     WHERE :jobId::uuid IS NULL OR EXISTS (SELECT 1 FROM jobs WHERE id = :jobId::uuid AND tenant_id = :tenantId)
     RETURNING ${BUG_VIEW_COLUMNS.join(', ')}`,
    {
      id: randomUUID(),
      tenantId,
      jobId: request.job_id,
      title: request.title,
      description: request.description,
      steps: JSON.stringify(request.steps),
      environment: request.environment,
    },
  );
  const row = result.rows[0] as BugViewRow | undefined;
  if (!row) {
    throw new ValidationError([{ field: 'job_id', code: 'unknown_job', message: 'job_id names none of your jobs.' }]);
  }
  return { ...bugView(row), comments: [] };
}

/** The tenant's reports, newest first, a keyset page at a time, of one status if asked. */
export function listBugReports(k: Knex, tenantId: string, query: ListBugsQuery): Promise<Page<BugView>> {
  const rows = k('bug_reports')
    .where({ tenant_id: tenantId, ...(query.status ? { status: query.status } : {}) })
    .select(...BUG_VIEW_COLUMNS);
  return keysetPage<BugViewRow, BugView>(k, rows, query, bugView);
}

/** The comments of a report, oldest first. */
export async function commentsOf(k: Knex, bugId: string): Promise<CommentView[]> {
  const rows = (await k('bug_comments')
    .where({ bug_id: bugId })
    .orderBy([
      { column: 'created_at', order: 'asc' },
      { column: 'id', order: 'asc' },
    ])
    .select(...COMMENT_VIEW_COLUMNS)) as CommentViewRow[];
  return rows.map(commentView);
}

/** The tenant's report with its comments, or NotFoundError (missing and another tenant's alike). */
export async function getBugReport(k: Knex, tenantId: string, id: string): Promise<BugWithComments> {
  if (!UUID.test(id)) throw new NotFoundError('bug report');
  const row = (await k('bug_reports')
    .where({ id, tenant_id: tenantId })
    .first(...BUG_VIEW_COLUMNS)) as BugViewRow | undefined;
  if (!row) throw new NotFoundError('bug report');
  return { ...bugView(row), comments: await commentsOf(k, id) };
}

/**
 * A comment of the partner's on its report. The report's row is locked while its comments are
 * counted, so a burst cannot pass PARTNER_COMMENT_LIMIT; its updated_at says something new is there.
 */
export async function addPartnerComment(k: Knex, tenantId: string, id: string, body: string): Promise<CommentView> {
  if (!UUID.test(id)) throw new NotFoundError('bug report');
  return k.transaction(async (trx) => {
    const report = await trx('bug_reports').where({ id, tenant_id: tenantId }).forUpdate().first('id');
    if (!report) throw new NotFoundError('bug report');
    const counted = await trx('bug_comments').where({ bug_id: id, author: 'partner' }).count({ n: '*' }).first();
    if (Number(counted?.n ?? 0) >= PARTNER_COMMENT_LIMIT) {
      throw new ConflictError(
        'comment_limit_reached',
        `A report takes at most ${PARTNER_COMMENT_LIMIT} comments from you; file a new report.`,
      );
    }
    const [row] = await trx('bug_comments')
      .insert({ id: randomUUID(), bug_id: id, author: 'partner', body })
      .returning([...COMMENT_VIEW_COLUMNS]);
    await trx('bug_reports').where({ id }).update({ updated_at: trx.fn.now() });
    return commentView(row as CommentViewRow);
  });
}
