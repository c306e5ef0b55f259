/**
 * GET /docs and its assets: the API reference page (shared/openapi/docs-page.ts) and the Swagger UI
 * files it loads, read once per instance and kept in memory.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Request, Response } from 'express';
import { NotFoundError } from '../errors';
import { INITIALIZER_JS, PAGE_HTML, swaggerUiDir } from '../openapi/docs-page';

interface Asset {
  type: string;
  body: () => string | Buffer;
}

const file = (name: string) => {
  let content: Buffer | undefined;
  return () => (content ??= readFileSync(join(swaggerUiDir(), name)));
};

/** By path, as the manifest declares the docs function's paths. */
export const DOCS_ASSETS: Readonly<Record<string, Asset>> = {
  '/docs': { type: 'text/html; charset=utf-8', body: () => PAGE_HTML },
  '/docs/swagger-ui.css': { type: 'text/css; charset=utf-8', body: file('swagger-ui.css') },
  '/docs/swagger-ui-bundle.js': { type: 'text/javascript; charset=utf-8', body: file('swagger-ui-bundle.js') },
  '/docs/swagger-initializer.js': { type: 'text/javascript; charset=utf-8', body: () => INITIALIZER_JS },
};

export function docs(req: Request, res: Response): void {
  const asset = DOCS_ASSETS[req.path.replace(/(.)\/$/, '$1')];
  if (!asset) throw new NotFoundError('page');
  // The page follows the document; the assets change only with a deployment.
  res.setHeader('Cache-Control', req.path.startsWith('/docs/') ? 'public, max-age=3600' : 'no-cache');
  res.type(asset.type).send(asset.body());
}
