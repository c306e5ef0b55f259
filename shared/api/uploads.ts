/**
 * POST /uploads (function uploads-create). The rules live in shared/uploads/; this reads the
 * request and writes the answer, which carries a signed URL: no cache may keep it.
 */
import type { Request, Response } from 'express';
import { config } from '../config';
import { db } from '../db';
import { objectStore } from '../platform';
import { createUpload } from '../uploads/create';
import { maxInputBytes } from '../jobs/input-limit';
import { jsonBody } from '../http/json-body';

export async function uploadsCreate(req: Request, res: Response): Promise<void> {
  const c = config();
  const upload = await createUpload(db(), objectStore(), req.principal!.tenantId, jsonBody(req), {
    bucket: c.AIPROD_UPLOADS_BUCKET,
    maxBytes: maxInputBytes(),
    ttlSeconds: c.AIPROD_SIGNED_URL_TTL_SECONDS,
  });
  res.setHeader('Cache-Control', 'no-store');
  res.status(201).json(upload);
}
