/**
 * POST /uploads (function uploads-create). The rules live in shared/uploads/; this reads the
 * request and writes the answer, which carries a signed URL: no cache may keep it.
 */
import type { Request, Response } from 'express';
import { config } from '../config';
import { db } from '../db';
import { problems } from '../http/problem';
import { objectStore } from '../platform';
import { createUpload } from '../uploads/create';

/** The functions-framework parsed JSON bodies already; anything else is the wrong media type. */
function jsonBody(req: Request): Record<string, unknown> {
  if (!req.is('application/json')) throw problems.unsupportedMediaType();
  if (req.body === null || typeof req.body !== 'object' || Array.isArray(req.body) || Buffer.isBuffer(req.body)) {
    throw problems.badRequest('invalid_json', 'The body must be a JSON object.');
  }
  return req.body as Record<string, unknown>;
}

export async function uploadsCreate(req: Request, res: Response): Promise<void> {
  const c = config();
  const upload = await createUpload(db(), objectStore(), req.principal!.tenantId, jsonBody(req), {
    bucket: c.AIPROD_UPLOADS_BUCKET,
    maxBytes: c.AIPROD_MAX_INPUT_BYTES,
    ttlSeconds: c.AIPROD_SIGNED_URL_TTL_SECONDS,
  });
  res.setHeader('Cache-Control', 'no-store');
  res.status(201).json(upload);
}
