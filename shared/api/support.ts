/**
 * The support endpoints, one function each (shared/platform/manifest.ts): a partner files a
 * problem report, lists its reports, reads one with its comments, and comments. The rules live
 * in shared/support/; these only read the request and write the answer. Reports change under
 * the partner's feet (an operator answers), so no answer may be cached.
 */
import type { Request, Response } from 'express';
import { db } from '../db';
import { jsonBody } from '../http/json-body';
import { parseComment, parseCreateBug, parseListBugs } from '../support/requests';
import { addPartnerComment, createBugReport, getBugReport, listBugReports } from '../support/reports';

const tenantOf = (req: Request): string => req.principal!.tenantId;
const idOf = (req: Request): string => String(req.params.id);

export async function supportBugCreate(req: Request, res: Response): Promise<void> {
  const report = await createBugReport(db(), tenantOf(req), parseCreateBug(jsonBody(req)));
  res.setHeader('Cache-Control', 'no-store');
  res.status(201).location(`/support/bugs/${report.id}`).json(report);
}

export async function supportBugsList(req: Request, res: Response): Promise<void> {
  const page = await listBugReports(db(), tenantOf(req), parseListBugs(req.query));
  res.setHeader('Cache-Control', 'no-store');
  res.json(page);
}

export async function supportBugGet(req: Request, res: Response): Promise<void> {
  const report = await getBugReport(db(), tenantOf(req), idOf(req));
  res.setHeader('Cache-Control', 'no-store');
  res.json(report);
}

export async function supportBugComment(req: Request, res: Response): Promise<void> {
  // The body first: a malformed request is refused before the report is looked up.
  const body = parseComment(jsonBody(req));
  const comment = await addPartnerComment(db(), tenantOf(req), idOf(req), body);
  res.setHeader('Cache-Control', 'no-store');
  res.status(201).json(comment);
}
