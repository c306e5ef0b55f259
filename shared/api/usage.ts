/** GET /usage: the caller's tenant's calls, costs and media seconds (shared/usage/report.ts). */
import type { Request, Response } from 'express';
import { db } from '../db';
import { parseUsageQuery, usageReport } from '../usage/report';

export async function usage(req: Request, res: Response): Promise<void> {
  const report = await usageReport(db(), req.principal!.tenantId, parseUsageQuery(req.query));
  res.setHeader('Cache-Control', 'no-store');
  res.json(report);
}
