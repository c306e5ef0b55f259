/**
 * POST /auth/login (public: the ID token in the body is the credential). The exchange lives in
 * shared/auth/login.ts; this reads the request and writes the answer, which carries a credential
 * and so must never be cached.
 */
import type { Request, Response } from 'express';
import { login } from '../auth/login';
import { config } from '../config';
import { db } from '../db';
import { jsonBody } from '../http/json-body';

export async function authLogin(req: Request, res: Response): Promise<void> {
  const c = config();
  const answer = await login(
    db(),
    { project: c.AIPROD_IDENTITY_PROJECT ?? c.GOOGLE_CLOUD_PROJECT, jwksUrl: c.AIPROD_IDENTITY_JWKS_URL },
    jsonBody(req),
  );
  res.setHeader('Cache-Control', 'no-store');
  res.json(answer);
}
