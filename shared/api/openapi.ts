/** GET /openapi.json: the document (shared/openapi/document.ts), built once per instance on first use. */
import type { Request, Response } from 'express';
import { renderOpenApiJson } from '../openapi/document';

let rendered: string | undefined;

export function openapi(_req: Request, res: Response): void {
  rendered ??= renderOpenApiJson();
  res.setHeader('Cache-Control', 'public, max-age=300');
  // Public and credential-free: any tool (an editor, a generator in a browser) may read it.
  res.setHeader('Access-Control-Allow-Origin', '*');
  res.type('application/json').send(rendered);
}
