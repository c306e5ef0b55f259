/**
 * What a partner sees of a problem report and its comments: the one definition, used by every
 * answer that returns one and by the operator's CLI.
 */
import type { BugViewBody, CommentViewBody } from '../openapi/schemas/support';

export const BUG_STATUSES = ['open', 'acknowledged', 'resolved'] as const;
export type BugStatus = (typeof BUG_STATUSES)[number];

export type CommentAuthor = 'partner' | 'operator';

/** The columns the report's view reads. */
export const BUG_VIEW_COLUMNS = [
  'id',
  'title',
  'description',
  'steps',
  'environment',
  'job_id',
  'status',
  'created_at',
  'updated_at',
] as const;

export interface BugRow {
  id: string;
  tenant_id: string;
  title: string;
  description: string;
  steps: string[];
  environment: string | null;
  job_id: string | null;
  status: BugStatus;
  created_at: Date;
  updated_at: Date;
}
export type BugViewRow = Pick<BugRow, (typeof BUG_VIEW_COLUMNS)[number]>;

export interface CommentRow {
  id: string;
  bug_id: string;
  author: CommentAuthor;
  body: string;
  created_at: Date;
}

export const COMMENT_VIEW_COLUMNS = ['id', 'author', 'body', 'created_at'] as const;
export type CommentViewRow = Pick<CommentRow, (typeof COMMENT_VIEW_COLUMNS)[number]>;

/** The documented shapes (shared/openapi/schemas/support.ts). */
export type BugView = BugViewBody;
export type CommentView = CommentViewBody;

export type BugWithComments = BugView & { comments: CommentView[] };

const iso = (d: Date): string => new Date(d).toISOString();

export const bugView = (row: BugViewRow): BugView => ({
  id: row.id,
  title: row.title,
  description: row.description,
  steps: row.steps,
  environment: row.environment,
  job_id: row.job_id,
  status: row.status,
  created_at: iso(row.created_at),
  updated_at: iso(row.updated_at),
});

export const commentView = (row: CommentViewRow): CommentView => ({
  id: row.id,
  author: row.author,
  body: row.body,
  created_at: iso(row.created_at),
});
