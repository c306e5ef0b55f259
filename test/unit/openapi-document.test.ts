/**
 * The OpenAPI document follows the manifest: every HTTP function, on each of its paths and its
 * method, with the security, rate-limit headers and problem responses its entry implies; it is a
 * valid OpenAPI 3.1 document; its examples pass the schemas they illustrate; and docs/openapi.json
 * is what `npm run openapi` writes today.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { DOCS_ASSETS } from '../../shared/api/docs';
import { buildOpenApiDocument, renderOpenApiJson, type OpenApiDocument } from '../../shared/openapi/document';
import { OPERATIONS } from '../../shared/openapi/operations';
import { httpFunctions, type HttpFunction } from '../../shared/platform/manifest';

const DOC_FILE = join(__dirname, '../../docs/openapi.json');

let doc: OpenApiDocument;
beforeAll(() => {
  doc = buildOpenApiDocument();
});

type Operation = Record<string, any>;
const operationOf = (fn: HttpFunction, path: string): Operation | undefined =>
  (doc.paths?.[path] as Record<string, Operation> | undefined)?.[fn.method.toLowerCase()];

const routes = () => httpFunctions().flatMap((fn) => fn.paths.map((path) => [fn.name, path, fn] as const));

describe('the OpenAPI document', () => {
  it('has an operation doc for every HTTP function of the manifest, and none for a function that is gone', () => {
    const names = httpFunctions().map((f) => f.name);
    expect(names.filter((n) => !OPERATIONS[n])).toEqual([]);
    expect(Object.keys(OPERATIONS).filter((n) => !names.includes(n))).toEqual([]);
  });

  it('refuses to build for a function without an operation doc', () => {
    const stray = { ...httpFunctions()[0]!, name: 'not-documented', paths: ['/not-documented'] };
    expect(() => buildOpenApiDocument([...httpFunctions(), stray])).toThrow(/not-documented has no operation doc/);
  });

  it.each(routes())('%s: %s is in the document on its method', (_name, path, fn) => {
    const op = operationOf(fn, path);
    expect(op).toBeDefined();
    expect(op!.tags).toHaveLength(1);
    expect(op!.summary).toBeTruthy();
    // Every path variable is a described parameter.
    const vars = [...path.matchAll(/\{([a-z_]+)\}/g)].map((m) => m[1]);
    const params = (op!.parameters ?? []).filter((p: any) => p.in === 'path');
    expect(params.map((p: any) => p.name).sort()).toEqual(vars.sort());
    for (const p of params) expect(p.description).toBeTruthy();
  });

  it('names a per-path doc for exactly the paths of a function that has them', () => {
    for (const fn of httpFunctions()) {
      const perPath = OPERATIONS[fn.name]!.paths;
      if (perPath) expect(Object.keys(perPath).sort()).toEqual([...fn.paths].sort());
    }
  });

  it('has no path or method the manifest does not declare', () => {
    const declared = new Set(routes().map(([, path, fn]) => `${fn.method.toLowerCase()} ${path}`));
    for (const [path, item] of Object.entries(doc.paths ?? {}))
      for (const method of Object.keys(item as object)) expect(declared).toContain(`${method} ${path}`);
  });

  it('has unique operation ids', () => {
    const ids = routes().map(([, path, fn]) => operationOf(fn, path)!.operationId);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("gives each operation the security of its entry's auth", () => {
    const expected: Record<HttpFunction['auth'], unknown> = {
      api_key: [{ ApiKey: [] }],
      api_key_or_signed: [{ ApiKey: [] }, { SignedUrl: [] }],
      metrics_token: [{ MetricsToken: [] }],
      public: [],
    };
    for (const [, path, fn] of routes()) expect(operationOf(fn, path)!.security).toEqual(expected[fn.auth]);
    for (const scheme of ['ApiKey', 'SignedUrl', 'MetricsToken'])
      expect(doc.components?.securitySchemes?.[scheme]).toBeDefined();
  });

  it('documents the rate-limit headers on every answer of a rate-limited route that passed the limiter, and Retry-After on its 429', () => {
    for (const [, path, fn] of routes()) {
      const responses = operationOf(fn, path)!.responses as Record<string, any>;
      const limited = fn.rateLimit !== 'none';
      expect({ path, has429: '429' in responses }).toEqual({ path, has429: limited });
      for (const [status, r] of Object.entries(responses)) {
        expect(r.headers['X-Request-Id']).toEqual({ $ref: '#/components/headers/X-Request-Id' });
        if (limited && Number(status) < 400) {
          expect(r.headers.RateLimit).toEqual({ $ref: '#/components/headers/RateLimit' });
          expect(r.headers['RateLimit-Policy']).toEqual({ $ref: '#/components/headers/RateLimit-Policy' });
        }
        if (!limited) expect(r.headers.RateLimit).toBeUndefined();
      }
      if (limited)
        expect(responses['429'].headers['Retry-After']).toEqual({ $ref: '#/components/headers/Retry-After' });
    }
  });

  it('answers problems as application/problem+json with the Problem schema and the codes of each status', () => {
    for (const [, path, fn] of routes()) {
      const responses = operationOf(fn, path)!.responses as Record<string, any>;
      for (const [status, r] of Object.entries(responses)) {
        const problem = r.content?.['application/problem+json'];
        if (Number(status) >= 400 && !r.content?.['application/json']) expect(problem).toBeDefined();
        if (!problem) continue;
        const [base, own] = problem.schema.allOf;
        expect(base).toEqual({ $ref: '#/components/schemas/Problem' });
        expect(own.properties.status).toEqual({ const: Number(status) });
        expect(own.properties.code.enum.length).toBeGreaterThan(0);
      }
      if (fn.auth !== 'public') expect(responses['401'].content['application/problem+json']).toBeDefined();
    }
    const codes = (path: string, method: string, status: string): string[] =>
      (doc.paths as any)[path][method].responses[status].content['application/problem+json'].schema.allOf[1].properties
        .code.enum;
    expect(codes('/pipeline/run', 'post', '422')).toEqual(
      expect.arrayContaining(['validation_failed', 'unsupported_language', 'idempotency_key_reused']),
    );
    expect(codes('/pipeline/{id}/result', 'get', '422')).toEqual(
      expect.arrayContaining(['input_unreachable', 'no_audio', 'voice_rejected', 'attempts_exhausted']),
    );
    expect(codes('/pipeline/{id}/events', 'get', '401')).toEqual(['unauthorized', 'url_expired']);
    expect(codes('/webhooks', 'post', '403')).toEqual(['webhooks_not_in_tier']);
  });

  it('describes the request bodies and query strings with the schemas the functions validate with', () => {
    const schemas = doc.components!.schemas as Record<string, any>;
    expect((doc.paths as any)['/pipeline/run'].post.requestBody.content['application/json'].schema).toEqual({
      $ref: '#/components/schemas/JobRequest',
    });
    // Strict like the validators: a field of another recipe is refused, not ignored.
    for (const name of ['DubJobRequest', 'ExtractAudioJobRequest', 'StillJobRequest'])
      expect(schemas[name].additionalProperties).toBe(false);
    expect(schemas.DubJobRequest.properties.voice_text).toMatchObject({ minLength: 5, maxLength: 10_000 });
    expect(schemas.BatchRequest.properties.items.items).toEqual({ $ref: '#/components/schemas/JobRequest' });
    const jobsQuery = (doc.paths as any)['/jobs'].get.parameters.map((p: any) => p.name).sort();
    expect(jobsQuery).toEqual(['batch_id', 'created_after', 'created_before', 'cursor', 'limit', 'recipe', 'status']);
  });

  it('has request examples the request schemas accept, and schema examples their schemas accept', () => {
    for (const [name, op] of Object.entries(OPERATIONS)) {
      const body = op.request?.body;
      if (!body) continue;
      expect(Object.keys(body.examples).length).toBeGreaterThan(0);
      for (const [example, { value }] of Object.entries(body.examples)) {
        const parsed = body.schema.safeParse(value);
        expect({ name, example, issues: parsed.error?.issues ?? [] }).toEqual({ name, example, issues: [] });
      }
    }
    let checked = 0;
    // Every schema the document names (zod's registry holds them by id) with its own example.
    for (const [id, schema] of z.globalRegistry._idmap) {
      const example = z.globalRegistry.get(schema)?.example;
      if (example === undefined) continue;
      const parsed = z.safeParse(schema, example);
      expect({ id, issues: parsed.error?.issues ?? [] }).toEqual({ id, issues: [] });
      checked += 1;
    }
    expect(checked).toBeGreaterThan(10);
  });

  it('is a valid OpenAPI 3.1 document', () => {
    expect(doc.openapi).toBe('3.1.0');
    // swagger-parser is an ES module, which jest's module system cannot load: it runs in a node of its own.
    const validate = `import SwaggerParser from '@apidevtools/swagger-parser';
      import { readFileSync } from 'node:fs';
      const api = await SwaggerParser.validate(JSON.parse(readFileSync(0, 'utf8')));
      process.stdout.write(api.openapi);`;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', validate], {
      cwd: join(__dirname, '../..'),
      input: renderOpenApiJson(doc),
      encoding: 'utf8',
    });
    expect(out).toBe('3.1.0');
  });

  it('is what docs/openapi.json holds: run `npm run openapi` after changing the API', () => {
    expect(readFileSync(DOC_FILE, 'utf8')).toBe(renderOpenApiJson(doc));
  });
});

describe('the docs function', () => {
  it('serves exactly the paths the manifest routes to it', () => {
    const docs = httpFunctions().find((f) => f.name === 'docs')!;
    expect(Object.keys(DOCS_ASSETS).sort()).toEqual([...docs.paths].sort());
  });
});
