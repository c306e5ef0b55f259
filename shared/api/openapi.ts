/**
 * GET /openapi.json: the document (shared/openapi/document.ts). A deployed function serves the copy
 * `npm run build` rendered beside its bundle from the same code; elsewhere (the local stack) it is
 * built on first use. Either way the generator is not loaded at a cold start.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Request, Response } from 'express';

/** The rendered document's file name beside the openapi function's bundle. */
export const PREBUILT_DOCUMENT = 'openapi.json';

let rendered: string | undefined;

function document(): string {
  const prebuilt = join(__dirname, PREBUILT_DOCUMENT);
  if (existsSync(prebuilt)) return readFileSync(prebuilt, 'utf8');
  const { renderOpenApiJson } = require('../openapi/document') as typeof import('../openapi/document');
  return renderOpenApiJson();
}

export function openapi(_req: Request, res: Response): void {
  rendered ??= document();
  res.setHeader('Cache-Control', 'public, max-age=300');
  // Public and credential-free: any tool (an editor, a generator in a browser) may read it.
  res.setHeader('Access-Control-Allow-Origin', '*');
  res.type('application/json').send(rendered);
}
