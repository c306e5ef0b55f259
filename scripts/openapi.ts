/** `npm run openapi`: writes docs/openapi.json, the document GET /openapi.json serves (a test fails when they differ). */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildOpenApiDocument, renderOpenApiJson } from '../shared/openapi/document';

const file = join(__dirname, '..', 'docs', 'openapi.json');
const doc = buildOpenApiDocument();
writeFileSync(file, renderOpenApiJson(doc));
console.log(`wrote ${file} (${Object.keys(doc.paths ?? {}).length} paths)`);
