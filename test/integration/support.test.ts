/**
 * The support endpoints over real HTTP, through the local gateway and each function's own
 * functions-framework stack, against a real PostgreSQL: filing a report (about one's own job
 * only), the list (newest first, status filter, keyset pages), one report with its thread,
 * comments, every error, and tenant isolation. An operator's side (status, answers) is the
 * library's operator module, as the tenant CLI calls it (its own test runs the CLI).
 */
import { randomUUID } from 'node:crypto';
import { loadFunction } from '../../functions';
import { closeRedis } from '../../shared/cache/redis';
import { startStack, Stack } from '../../shared/local/stack';
import { updateBugReport } from '../../shared/support/operator';
import { PARTNER_COMMENT_LIMIT } from '../../shared/support/reports';
import { closeTestEnv, newTenantKey, TestEnv, useTestEnv } from '../support/database';

let env: TestEnv;
let stack: Stack;
/** Tenant A files most reports; tenant B must never see them. */
let a: { key: string; tenantId: string };
let b: { key: string; tenantId: string };

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const MISSING = '00000000-0000-4000-8000-000000000000';

async function call(
  method: string,
  path: string,
  opts: { key?: string | null; json?: unknown; raw?: string; headers?: Record<string, string> } = {},
) {
  const headers: Record<string, string> = { ...opts.headers };
  const k = opts.key === undefined ? a.key : opts.key;
  if (k) headers.authorization = `Bearer ${k}`;
  const payload = opts.json !== undefined ? JSON.stringify(opts.json) : opts.raw;
  if (payload !== undefined) headers['content-type'] ??= 'application/json';
  const res = await fetch(`${stack.url}${path}`, { method, headers, body: payload });
  const text = await res.text();
  let body: Record<string, any> = {};
  try {
    body = JSON.parse(text);
  } catch {
    body = { text };
  }
  return { status: res.status, headers: res.headers, text, body };
}

type Answer = Awaited<ReturnType<typeof call>>;

function expectProblem(r: Answer, status: number, code: string): void {
  expect(r.status).toBe(status);
  expect(r.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(r.body).toMatchObject({ status, code, type: `https://aiprod.dev/problems/${code}` });
}

function expectFieldErrors(r: Answer, errors: { field: string; code: string }[]): void {
  expectProblem(r, 422, 'validation_failed');
  expect(r.body.errors).toEqual(expect.arrayContaining(errors.map((e) => expect.objectContaining(e))));
  expect(r.body.errors).toHaveLength(errors.length);
}

const report = (extra: Record<string, unknown> = {}) => ({
  title: 'Result has no sound',
  description: 'The dubbed MP4 plays silently in QuickTime.',
  ...extra,
});

const file = (json: unknown, key: string = a.key) => call('POST', '/support/bugs', { key, json });

async function filed(extra: Record<string, unknown> = {}, key: string = a.key): Promise<Record<string, any>> {
  const r = await file(report(extra), key);
  if (r.status !== 201) throw new Error(`POST /support/bugs answered ${r.status}: ${r.text}`);
  return r.body;
}

async function newJob(tenantId: string): Promise<string> {
  const id = randomUUID();
  await env.db('jobs').insert({ id, tenant_id: tenantId, status: 'PENDING', recipe: 'dub', request: {} });
  return id;
}

beforeAll(async () => {
  env = await useTestEnv({ AIPROD_LOCAL_WORKERS: '0' });
  stack = await startStack({ loadFunction, port: 0, dataDir: env.dataDir, maintenanceSeconds: 0 });
  a = await newTenantKey(env.db, 'enterprise');
  b = await newTenantKey(env.db, 'enterprise');
});

afterAll(async () => {
  await stack.stop();
  await closeRedis();
  await closeTestEnv();
});

describe('POST /support/bugs', () => {
  it('answers 201 with the report, open and without comments, Location and no-store', async () => {
    const r = await file(report());
    expect(r.status).toBe(201);
    expect(r.body).toEqual({
      id: expect.stringMatching(UUID),
      title: 'Result has no sound',
      description: 'The dubbed MP4 plays silently in QuickTime.',
      steps: [],
      environment: null,
      job_id: null,
      status: 'open',
      created_at: expect.stringMatching(ISO),
      updated_at: expect.stringMatching(ISO),
      comments: [],
    });
    expect(r.headers.get('location')).toBe(`/support/bugs/${r.body.id}`);
    expect(r.headers.get('cache-control')).toBe('no-store');
    expect(await env.db('bug_reports').where({ id: r.body.id }).first()).toMatchObject({ tenant_id: a.tenantId });
  });

  it('keeps steps, environment and one of your jobs, with the text trimmed', async () => {
    const job = await newJob(a.tenantId);
    const r = await file(
      report({
        title: '  Silent result  ',
        steps: ['Submit a dub', ' Download the result '],
        environment: 'Node 20, fetch',
        job_id: job.toUpperCase(),
      }),
    );
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({
      title: 'Silent result',
      steps: ['Submit a dub', 'Download the result'],
      environment: 'Node 20, fetch',
      job_id: job,
    });
    expect((await call('GET', `/support/bugs/${r.body.id}`)).body).toMatchObject({ job_id: job, steps: r.body.steps });
  });

  it('accepts null for the optional fields', async () => {
    const r = await file(report({ steps: null, environment: null, job_id: null }));
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ steps: [], environment: null, job_id: null });
  });

  it("refuses another tenant's job exactly as a missing one: 422 unknown_job on job_id, nothing filed", async () => {
    const theirs = await newJob(b.tenantId);
    const before = await env.db('bug_reports').count({ n: '*' }).first();
    for (const job of [theirs, MISSING]) {
      const r = await file(report({ job_id: job }));
      expectFieldErrors(r, [{ field: 'job_id', code: 'unknown_job' }]);
      expect(r.text).not.toContain(b.tenantId);
    }
    expect(await env.db('bug_reports').count({ n: '*' }).first()).toEqual(before);
  });

  it.each([
    [
      'no title nor description',
      {},
      [
        { field: 'title', code: 'required' },
        { field: 'description', code: 'required' },
      ],
    ],
    ['a blank title', report({ title: '   ' }), [{ field: 'title', code: 'too_short' }]],
    ['an overlong title', report({ title: 'x'.repeat(201) }), [{ field: 'title', code: 'too_long' }]],
    ['a title on two lines', report({ title: 'one\ntwo' }), [{ field: 'title', code: 'invalid_characters' }]],
    ['a number for description', report({ description: 42 }), [{ field: 'description', code: 'invalid_type' }]],
    [
      'an overlong description',
      report({ description: 'x'.repeat(10_001) }),
      [{ field: 'description', code: 'too_long' }],
    ],
    [
      'a control character in description',
      report({ description: 'bad \u0007 bell' }),
      [{ field: 'description', code: 'invalid_characters' }],
    ],
    ['steps as a string', report({ steps: 'do this' }), [{ field: 'steps', code: 'invalid_type' }]],
    ['51 steps', report({ steps: Array(51).fill('again') }), [{ field: 'steps', code: 'too_long' }]],
    ['an empty step', report({ steps: ['ok', ''] }), [{ field: 'steps.1', code: 'too_short' }]],
    [
      'an overlong environment',
      report({ environment: 'x'.repeat(1001) }),
      [{ field: 'environment', code: 'too_long' }],
    ],
    ['a job id that is no UUID', report({ job_id: 'job-1' }), [{ field: 'job_id', code: 'invalid_format' }]],
    ['an unknown field', report({ severity: 'high' }), [{ field: 'severity', code: 'unknown_field' }]],
  ])('answers 422 validation_failed for %s', async (_name, json, errors) => {
    expectFieldErrors(await file(json), errors);
  });

  it('answers 415, 400 invalid_json and 401 as every endpoint does', async () => {
    expectProblem(
      await call('POST', '/support/bugs', { raw: 'title=x', headers: { 'content-type': 'text/plain' } }),
      415,
      'unsupported_media_type',
    );
    expectProblem(await call('POST', '/support/bugs', { raw: '[1]' }), 400, 'invalid_json');
    expectProblem(await call('POST', '/support/bugs', { key: null, json: report() }), 401, 'unauthorized');
    expectProblem(await call('POST', '/support/bugs', { key: 'sk_live_nope', json: report() }), 401, 'unauthorized');
  });

  it('answers 405 naming GET and POST for another method on the path', async () => {
    const r = await call('DELETE', '/support/bugs');
    expectProblem(r, 405, 'method_not_allowed');
    expect(r.headers.get('allow')).toBe('GET, POST');
  });
});

describe('GET /support/bugs', () => {
  /** A tenant of its own, so that the list holds exactly what the case filed. */
  let c: { key: string; tenantId: string };
  let ids: string[];

  beforeAll(async () => {
    c = await newTenantKey(env.db, 'pro');
    // Five reports created at the same instant: the id alone orders them, as it must.
    const at = '2025-03-01T10:00:00.123456Z';
    ids = Array.from({ length: 5 }, () => randomUUID());
    await env.db('bug_reports').insert(
      ids.map((id, i) => ({
        id,
        tenant_id: c.tenantId,
        title: `report ${i}`,
        description: 'd',
        status: i % 2 ? 'resolved' : 'open',
        created_at: at,
        updated_at: at,
      })),
    );
  });

  const list = (query = '', key: string | null = c.key) => call('GET', `/support/bugs${query}`, { key });

  it('answers {data, next_cursor} newest first, and a new report comes first', async () => {
    const newest = await filed({}, c.key);
    const r = await list();
    expect(r.status).toBe(200);
    expect(r.headers.get('cache-control')).toBe('no-store');
    expect(r.body.next_cursor).toBeNull();
    expect(r.body.data.map((x: any) => x.id)).toEqual([newest.id, ...[...ids].sort().reverse()]);
    // The list carries the reports, not their threads.
    expect(r.body.data[0]).toEqual({ ...newest, comments: undefined });
    expect(Object.keys(r.body.data[0])).not.toContain('comments');
    await env.db('bug_reports').where({ id: newest.id }).delete();
  });

  it('walks every report exactly once in pages, the last one saying null', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const r: Answer = await list(`?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(r.status).toBe(200);
      expect(r.body.data.length).toBeLessThanOrEqual(2);
      seen.push(...r.body.data.map((x: any) => x.id));
      cursor = r.body.next_cursor;
      pages += 1;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual([...ids].sort().reverse());
  });

  it('filters by status, pages included', async () => {
    const open = ids
      .filter((_, i) => i % 2 === 0)
      .sort()
      .reverse();
    const first = await list('?status=open&limit=2');
    expect(first.body.data.map((x: any) => x.id)).toEqual(open.slice(0, 2));
    expect(first.body.data.every((x: any) => x.status === 'open')).toBe(true);
    const second = await list(`?status=open&limit=2&cursor=${first.body.next_cursor}`);
    expect(second.body).toEqual({ data: [expect.objectContaining({ id: open[2] })], next_cursor: null });
    expect((await list('?status=resolved')).body.data).toHaveLength(2);
    expect((await list('?status=acknowledged')).body).toEqual({ data: [], next_cursor: null });
  });

  it("never shows another tenant's reports", async () => {
    const r = await list('?limit=100', b.key);
    expect(r.status).toBe(200);
    for (const id of ids) expect(r.text).not.toContain(id);
  });

  it.each([
    ['an unknown status', '?status=closed', [{ field: 'status', code: 'unsupported_value' }]],
    ['a limit of 0', '?limit=0', [{ field: 'limit', code: 'out_of_range' }]],
    ['a limit of 101', '?limit=101', [{ field: 'limit', code: 'out_of_range' }]],
    ['a cursor it never issued', '?cursor=bm90LWEtY3Vyc29y', [{ field: 'cursor', code: 'invalid_cursor' }]],
    ['an unknown parameter', '?sort=asc', [{ field: 'sort', code: 'unknown_field' }]],
  ])('answers 422 validation_failed for %s', async (_name, query, errors) => {
    expectFieldErrors(await list(query), errors);
  });

  it('answers 401 without a key', async () => {
    expectProblem(await list('', null), 401, 'unauthorized');
  });
});

describe('GET /support/bugs/{id}', () => {
  it('answers the report with its comments, oldest first, and the status an operator set', async () => {
    const bug = await filed();
    const mine = await call('POST', `/support/bugs/${bug.id}/comments`, { json: { body: 'Any news?' } });
    expect(mine.status).toBe(201);
    await updateBugReport(env.db, bug.id, { status: 'acknowledged', comment: 'We can reproduce it.' });
    const r = await call('GET', `/support/bugs/${bug.id}`);
    expect(r.status).toBe(200);
    expect(r.headers.get('cache-control')).toBe('no-store');
    expect(r.body).toMatchObject({ id: bug.id, status: 'acknowledged' });
    expect(r.body.comments).toEqual([
      { id: mine.body.id, author: 'partner', body: 'Any news?', created_at: expect.stringMatching(ISO) },
      {
        id: expect.stringMatching(UUID),
        author: 'operator',
        body: 'We can reproduce it.',
        created_at: expect.stringMatching(ISO),
      },
    ]);
    expect(new Date(r.body.updated_at).getTime()).toBeGreaterThanOrEqual(new Date(bug.updated_at).getTime());

    await updateBugReport(env.db, bug.id, { status: 'resolved' });
    expect((await call('GET', `/support/bugs/${bug.id}`)).body.status).toBe('resolved');
    const listed = await call('GET', '/support/bugs?status=resolved&limit=100');
    expect(listed.body.data.map((x: any) => x.id)).toContain(bug.id);
  });

  it("answers 404 for another tenant's report exactly as for a missing one", async () => {
    const bug = await filed();
    const theirs = await call('GET', `/support/bugs/${bug.id}`, { key: b.key });
    const missing = await call('GET', `/support/bugs/${MISSING}`, { key: b.key });
    expectProblem(theirs, 404, 'not_found');
    expect({ ...theirs.body, instance: undefined }).toEqual({ ...missing.body, instance: undefined });
    expect(theirs.text).not.toContain(bug.title);
    expectProblem(await call('GET', '/support/bugs/not-a-uuid'), 404, 'not_found');
  });
});

describe('POST /support/bugs/{id}/comments', () => {
  it('answers 201 with the comment, which the report then carries, its updated_at moved on', async () => {
    const bug = await filed();
    const r = await call('POST', `/support/bugs/${bug.id}/comments`, {
      json: { body: '  It happens with every preset.  ' },
    });
    expect(r.status).toBe(201);
    expect(r.headers.get('cache-control')).toBe('no-store');
    expect(r.body).toEqual({
      id: expect.stringMatching(UUID),
      author: 'partner',
      body: 'It happens with every preset.',
      created_at: expect.stringMatching(ISO),
    });
    const got = await call('GET', `/support/bugs/${bug.id}`);
    expect(got.body.comments).toEqual([r.body]);
    expect(got.body.status).toBe('open');
    const row = await env.db('bug_reports').where({ id: bug.id }).first('created_at', 'updated_at');
    expect(row.updated_at.getTime()).toBeGreaterThan(row.created_at.getTime());
  });

  it("answers 404 for another tenant's report and for a missing one, and writes nothing", async () => {
    const bug = await filed();
    expectProblem(
      await call('POST', `/support/bugs/${bug.id}/comments`, { key: b.key, json: { body: 'mine now' } }),
      404,
      'not_found',
    );
    expectProblem(
      await call('POST', `/support/bugs/${MISSING}/comments`, { json: { body: 'hello' } }),
      404,
      'not_found',
    );
    expectProblem(await call('POST', '/support/bugs/nope/comments', { json: { body: 'hello' } }), 404, 'not_found');
    expect(await env.db('bug_comments').where({ bug_id: bug.id })).toHaveLength(0);
  });

  it.each([
    ['no body', {}, [{ field: 'body', code: 'required' }]],
    ['a blank body', { body: ' \n ' }, [{ field: 'body', code: 'too_short' }]],
    ['an overlong body', { body: 'x'.repeat(10_001) }, [{ field: 'body', code: 'too_long' }]],
    ['an unknown field', { body: 'ok', author: 'operator' }, [{ field: 'author', code: 'unknown_field' }]],
  ])('answers 422 validation_failed for %s', async (_name, json, errors) => {
    const bug = await filed();
    expectFieldErrors(await call('POST', `/support/bugs/${bug.id}/comments`, { json }), errors);
  });

  it('answers 415 for a body that is not JSON', async () => {
    const bug = await filed();
    expectProblem(
      await call('POST', `/support/bugs/${bug.id}/comments`, { raw: 'hi', headers: { 'content-type': 'text/plain' } }),
      415,
      'unsupported_media_type',
    );
  });

  it(`answers 409 comment_limit_reached past ${PARTNER_COMMENT_LIMIT} comments of the partner; operators still answer`, async () => {
    const bug = await filed();
    await env.db('bug_comments').insert(
      Array.from({ length: PARTNER_COMMENT_LIMIT }, (_, i) => ({
        id: randomUUID(),
        bug_id: bug.id,
        author: 'partner',
        body: `comment ${i}`,
      })),
    );
    expectProblem(
      await call('POST', `/support/bugs/${bug.id}/comments`, { json: { body: 'one more' } }),
      409,
      'comment_limit_reached',
    );
    const answered = await updateBugReport(env.db, bug.id, { comment: 'Please file a new report.' });
    expect(answered.comments).toHaveLength(PARTNER_COMMENT_LIMIT + 1);
  });
});
