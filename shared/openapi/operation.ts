/**
 * What the document says of one HTTP function beyond its manifest entry. The entry gives the
 * method, the paths, the auth and the rate limit; this gives the words, the request, the answers
 * and the problem codes. One OperationDoc per function, keyed by its manifest name (operations/).
 */
import type * as z from 'zod';

export const TAGS = {
  Jobs: 'Submit a job, follow it, fetch its result.',
  Batches: 'Many jobs at once, with one status and one archive of results.',
  Webhooks: 'Signed callbacks when jobs and batches end (Standard Webhooks).',
  Uploads: 'Signed URLs to put input files straight into storage.',
  Support: 'Problem reports and their threads.',
  Account: 'Usage and cost, and signing in.',
  Catalog: 'What a job can ask for.',
  Operations: 'Probes and this reference.',
} as const;
export type Tag = keyof typeof TAGS;

/** A schema: zod (converted), or a raw JSON Schema for what is not JSON (a stream, a file). */
export type SchemaDoc = z.ZodType | Record<string, unknown>;

export interface ContentDoc {
  schema: SchemaDoc;
  example?: unknown;
  /** Named examples, shown one by one. */
  examples?: Record<string, { summary: string; value: unknown }>;
}

export interface HeaderDoc {
  description: string;
  schema: Record<string, unknown>;
  required?: boolean;
}

export interface ResponseDoc {
  description: string;
  /** By media type; none for an empty answer (204). */
  content?: Record<string, ContentDoc>;
  /** Beyond X-Request-Id and, on a rate-limited route's success, the RateLimit headers. */
  headers?: Record<string, HeaderDoc>;
}

/** The statuses a problem answer can have, with the codes each can carry. */
export type ProblemStatus = 400 | 401 | 403 | 404 | 409 | 410 | 413 | 415 | 422 | 429 | 500 | 503;
export type ProblemCodes = Partial<Record<ProblemStatus, readonly string[]>>;

export interface RequestDoc {
  /** A JSON body: its schema and examples. */
  body?: { schema: z.ZodType; description?: string; examples: Record<string, { summary: string; value: unknown }> };
  query?: z.ZodObject;
  headers?: z.ZodObject;
}

export interface PathDoc {
  summary: string;
  description: string;
  /** This path's success answers, when they differ from the function's. */
  responses?: Record<number, ResponseDoc>;
}

export interface OperationDoc {
  summary: string;
  /** Markdown. */
  description: string;
  tags: [Tag];
  /** Each `{variable}` of the paths, described. */
  params?: Record<string, string>;
  request?: RequestDoc;
  /** Success answers (and non-problem errors) by status. */
  responses: Record<number, ResponseDoc>;
  /** Problem codes beyond those the entry implies (auth, rate limit, body, path variables). */
  problems?: ProblemCodes;
  /** For a function serving several paths that behave differently: one entry per path of the manifest. */
  paths?: Record<string, PathDoc>;
}

export const json = (schema: SchemaDoc, example?: unknown): Record<string, ContentDoc> => ({
  'application/json': example === undefined ? { schema } : { schema, example },
});
