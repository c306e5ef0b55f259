/**
 * The document tells the truth: the local stack is driven through the main endpoints (a real job
 * submitted, processed by ffmpeg and fetched; a batch; webhooks with a real receiver; an upload;
 * usage; support; the public ones) and every answer is checked against what the document says
 * of its route: the status is documented, the media type too, a JSON body parses with its
 * documented response schema, strictly (a field the schema does not name fails), and a problem
 * carries one of the codes documented for its status.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { z } from 'zod';
import type { Stack } from '../../shared/local/stack';
import { buildOpenApiDocument, type OpenApiDocument } from '../../shared/openapi/document';
import { OPERATIONS } from '../../shared/openapi/operations';
import { problemSchema } from '../../shared/openapi/schemas/problem';
import { httpFunctions, type HttpFunction } from '../../shared/platform/manifest';
import { pathPattern } from '../../shared/http/paths';
import { resolveRoute, gatewayRoutes } from '../../shared/local/gateway';
import { closeTestEnv, newTenantKey, type TestEnv, useTestEnv } from '../support/database';
import { serveDir, type FileServer } from '../support/file-server';
import { makeClip } from '../support/media-fixtures';
import { startTestStack } from '../support/stack';

let env: TestEnv;
let stack: Stack;
let files: FileServer;
let receiver: Server;
let receiverUrl: string;
let key: string;
let doc: OpenApiDocument;

const routes = gatewayRoutes(httpFunctions(), () => () => undefined);

interface Answer {
  status: number;
  type: string;
  headers: Headers;
  text: string;
  body: any;
}

/** The manifest function and declared path that serve this request, as the load balancer routes it. */
function routeOf(method: string, path: string): { fn: HttpFunction; declared: string } {
  const route = resolveRoute(routes, method, path.split('?')[0]!);
  if (!route || route.fn.method !== method) throw new Error(`no function serves ${method} ${path}`);
  const declared = route.path ?? route.fn.paths.find((p) => pathPattern(p).source === route.pattern.source)!;
  return { fn: route.fn, declared };
}

/** Fails unless the answer is one the document describes for its route. */
function expectDocumented(method: string, path: string, a: Answer): void {
  const { fn, declared } = routeOf(method, path);
  const where = `${method} ${declared} ${a.status}`;
  const documented = (doc.paths as any)[declared][method.toLowerCase()].responses[String(a.status)];
  expect({ where, documented: documented !== undefined }).toEqual({ where, documented: true });
  if (a.status === 204) return;
  if (a.type === 'application/problem+json') {
    problemSchema.parse(a.body);
    const codes: string[] = documented.content['application/problem+json'].schema.allOf[1].properties.code.enum;
    expect({ where, code: a.body.code, documented: codes.includes(a.body.code) }).toEqual({
      where,
      code: a.body.code,
      documented: true,
    });
    return;
  }
  const op = OPERATIONS[fn.name]!;
  const responses = op.paths?.[declared]?.responses ?? op.responses;
  const content = responses[a.status]?.content ?? {};
  const mediaType = Object.keys(content).find((t) => t.split(';')[0] === a.type);
  expect({ where, type: a.type, documented: mediaType !== undefined }).toEqual({
    where,
    type: a.type,
    documented: true,
  });
  if (a.type === 'application/json') {
    const parsed = (content[mediaType!]!.schema as z.ZodType).safeParse(a.body);
    expect({ where, issues: parsed.error?.issues ?? [] }).toEqual({ where, issues: [] });
  }
  if (fn.rateLimit !== 'none' && a.status < 400) {
    expect(a.headers.get('ratelimit')).toMatch(/^"(minute|hour|day)";r=\d+;t=\d+$/);
    expect(a.headers.get('ratelimit-policy')).toMatch(/"minute";q=\d+;w=60/);
  }
  expect(a.headers.get('x-request-id')).toBeTruthy();
}

async function call(
  method: string,
  path: string,
  opts: { json?: unknown; key?: string | null; headers?: Record<string, string> } = {},
): Promise<Answer> {
  const headers: Record<string, string> = { ...opts.headers };
  const k = opts.key === undefined ? key : opts.key;
  if (k) headers.authorization = `Bearer ${k}`;
  if (opts.json !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${stack.url}${path}`, {
    method,
    headers,
    body: opts.json === undefined ? undefined : JSON.stringify(opts.json),
  });
  const type = (res.headers.get('content-type') ?? '').split(';')[0]!.trim();
  const text = type === 'application/zip' ? '' : await res.text();
  if (type === 'application/zip') await res.arrayBuffer();
  const body = type.endsWith('json') && text ? JSON.parse(text) : undefined;
  const answer = { status: res.status, type, headers: res.headers, text, body };
  expectDocumented(method, path, answer);
  return answer;
}

async function completed(jobId: string): Promise<void> {
  for (;;) {
    const status = await call('GET', `/pipeline/${jobId}`);
    if (status.body.status === 'COMPLETED') return;
    if (status.body.status === 'FAILED') throw new Error(`job ${jobId} failed: ${status.text}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

beforeAll(async () => {
  doc = buildOpenApiDocument();
  env = await useTestEnv({ AIPROD_RATE_LIMIT_PREFIX: `rl-contract-${randomBytes(6).toString('hex')}:` });
  stack = await startTestStack(env);
  const inputs = mkdtempSync(join(tmpdir(), 'aiprod-contract-'));
  makeClip(join(inputs, 'clip.mp4'), { seconds: 3 });
  files = await serveDir(inputs);
  receiver = createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(204).end());
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', () => r()));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
  key = (await newTenantKey(env.db, 'pro')).key;
});

afterAll(async () => {
  await stack.stop();
  await files.close();
  await new Promise((r) => receiver.close(r));
  await closeTestEnv();
});

it('documents every answer of a job from submit to its result', async () => {
  const submit = await call('POST', '/pipeline/run', {
    json: { video_url: `${files.url}/clip.mp4`, voice_text: 'Here is the news of the day.', metadata: { ref: 'c-1' } },
  });
  expect(submit.status).toBe(202);
  const jobId = submit.body.job_id as string;
  // 202 while it runs or 200 once done: whichever it is, it is documented.
  await call('GET', `/pipeline/${jobId}/result`);
  await completed(jobId);
  expect((await call('GET', `/pipeline/${jobId}/result`)).status).toBe(200);
  const events = await call('GET', `/pipeline/${jobId}/events`);
  expect(events.type).toBe('text/event-stream');
  expect(events.text).toMatch(/event: completed/);
  expect((await call('GET', '/jobs?limit=5')).body.data.length).toBeGreaterThan(0);
  expect((await call('GET', `/jobs?batch_id=not-a-uuid`)).status).toBe(422);
  expect((await call('POST', `/pipeline/${jobId}/cancel`)).status).toBe(409);
  expect((await call('GET', '/pipeline/00000000-0000-4000-8000-000000000000')).status).toBe(404);
  expect((await call('POST', '/pipeline/run', { json: { video_url: 'ftp://x/y.mp4', voice_text: 'Hi' } })).status).toBe(
    422,
  );
  expect((await call('POST', '/pipeline/run', { key: null, json: {} })).status).toBe(401);
}, 180_000);

it('documents a waiting job cancelled, and a batch created, read, archived and cancelled', async () => {
  const item = { video_url: `${files.url}/clip.mp4`, voice_text: 'A spot of the batch.' };
  const single = await call('POST', '/pipeline/run', { json: item });
  const cancelled = await call('POST', `/pipeline/${single.body.job_id}/cancel`);
  expect(cancelled.status).toBe(200);
  const batch = await call('POST', '/pipeline/batch', {
    json: { priority: 'low', metadata: { campaign: 'spring' }, items: [item, { ...item, metadata: { sku: 'B' } }] },
  });
  expect(batch.status).toBe(202);
  const id = batch.body.batch_id as string;
  expect((await call('GET', `/pipeline/batch/${id}`)).status).toBe(200);
  expect((await call('GET', `/pipeline/batch/${id}/results`)).status).toBe(200);
  expect((await call('POST', `/pipeline/batch/${id}/cancel`)).status).toBe(200);
  expect((await call('GET', `/pipeline/batch/${id}`)).body.status).toBe('CANCELLED');
});

it('documents the webhook endpoints, with a real receiver', async () => {
  const created = await call('POST', '/webhooks', { json: { url: receiverUrl, events: ['job.completed'] } });
  expect(created.status).toBe(201);
  const id = created.body.id as string;
  expect((await call('GET', '/webhooks')).body.data.map((w: any) => w.id)).toContain(id);
  expect((await call('GET', `/webhooks/${id}`)).status).toBe(200);
  expect((await call('POST', `/webhooks/${id}/test`)).body.succeeded).toBe(true);
  const deliveries = await call('GET', `/webhooks/${id}/deliveries`);
  expect(deliveries.body.data.length).toBeGreaterThan(0);
  const delivery = deliveries.body.data[0].delivery_id as string;
  expect((await call('POST', `/webhooks/${id}/deliveries/${delivery}/retry`)).status).toBe(200);
  expect((await call('POST', `/webhooks/${id}/rotate-secret`)).body.rotation).toBeDefined();
  expect((await call('POST', `/webhooks/${id}/enable`)).status).toBe(200);
  expect((await call('POST', '/webhooks', { json: { url: 'ftp://x', events: [] } })).status).toBe(422);
  expect((await call('DELETE', `/webhooks/${id}`)).status).toBe(204);
  expect((await call('GET', `/webhooks/${id}`)).status).toBe(404);
});

it('documents uploads, usage, support and the public endpoints', async () => {
  const upload = await call('POST', '/uploads', {
    json: { filename: 'interview.mp4', content_type: 'video/mp4', size_bytes: 1024 },
  });
  expect(upload.status).toBe(201);
  expect((await call('GET', '/usage')).status).toBe(200);
  expect((await call('GET', '/usage?group_by=endpoint')).status).toBe(200);
  expect((await call('GET', '/usage?from=2025-02-30')).status).toBe(422);

  const bug = await call('POST', '/support/bugs', {
    json: { title: 'Result has no sound', description: 'The output plays silent.', steps: ['Submit', 'Download'] },
  });
  expect(bug.status).toBe(201);
  expect((await call('POST', `/support/bugs/${bug.body.id}/comments`, { json: { body: 'More detail.' } })).status).toBe(
    201,
  );
  expect((await call('GET', `/support/bugs/${bug.body.id}`)).body.comments).toHaveLength(1);
  expect((await call('GET', '/support/bugs?status=open')).body.data.length).toBe(1);

  expect((await call('GET', '/presets', { key: null })).status).toBe(200);
  for (const probe of ['/health', '/health/startup', '/health/live', '/health/ready'])
    expect((await call('GET', probe, { key: null })).status).toBe(200);
  expect((await call('GET', '/openapi.json', { key: null })).body.openapi).toBe('3.1.0');
  expect((await call('GET', '/docs', { key: null })).type).toBe('text/html');
  expect((await call('GET', '/docs/swagger-initializer.js', { key: null })).type).toBe('text/javascript');
  expect((await call('GET', '/metrics', { key: null })).type).toBe('text/plain');
});
