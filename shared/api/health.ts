import type { Request, Response } from 'express';
import { db } from '../db';

async function databaseOk(): Promise<boolean> {
  try {
    await db().raw('select 1').timeout(2000);
    return true;
  } catch {
    return false;
  }
}

/** `/health/live` answers while the process runs; `/health` and `/health/ready` also need the database. */
export async function health(req: Request, res: Response): Promise<void> {
  res.setHeader('Cache-Control', 'no-store');
  if (req.path === '/health/live') {
    res.json({ status: 'ok' });
    return;
  }
  const database = await databaseOk();
  res
    .status(database ? 200 : 503)
    .json({ status: database ? 'ok' : 'unavailable', checks: { database: database ? 'ok' : 'down' } });
}
