/**
 * GET /jobs over real HTTP, through the local gateway and the function's own functions-framework
 * stack, against a real PostgreSQL: page sizes, order and keyset pagination to the microsecond,
 * every filter, the problem codes of bad parameters, tenant isolation, a walk while jobs keep
 * coming, and the read replica. Jobs are written straight into the database: the listing reads
 * rows, whoever wrote them.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { loadFunction } from '../../functions';
import { resetConfig } from '../../shared/config';
import { connect } from '../../shared/db';
import { startStack, Stack } from '../../shared/local/stack';
import { closeTestEnv, newTenantKey, TestEnv, useTestEnv } from '../support/database';
import { TEMPLATE_DB, withDatabaseName } from '../support/names';

let env: TestEnv;
let stack: Stack;

type Tenant = { key: string; tenantId: string };
type Json = Record<string, any>;

async function list(query: string, k: string | null): Promise<{ status: number; headers: Headers; body: Json }> {
  const res = await fetch(`${stack.url}/jobs${query}`, { headers: k ? { authorization: `Bearer ${k}` } : {} });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Json };
}

const ids = (body: Json): string[] => body.data.map((j: { job_id: string }) => j.job_id);

/** Every id of a walk with `limit`, page by page, following next_cursor to its null. */
async function walk(t: Tenant, query: string, limit: number, between?: () => Promise<void>): Promise<string[][]> {
  const pages: string[][] = [];
  let cursor: string | null = null;
  do {
    const r = await list(`?${query}${query ? '&' : ''}limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`, t.key);
    expect(r.status).toBe(200);
    pages.push(ids(r.body));
    cursor = r.body.next_cursor;
    await between?.();
  } while (cursor && pages.length < 200);
  expect(cursor).toBeNull();
  return pages;
}

interface JobFields {
  status?: string;
  recipe?: string;
  created_at?: string;
  batch_id?: string;
  priority?: number;
  metadata?: Record<string, string>;
  [column: string]: unknown;
}

/** Job rows as submit and the processor leave them; created_at is now() unless given. */
async function insertJobs(k: Knex, tenantId: string, fields: JobFields[]): Promise<string[]> {
  const rows = fields.map((f) => ({
    id: randomUUID(),
    tenant_id: tenantId,
    status: 'PENDING',
    recipe: 'dub',
    request: { recipe: f.recipe ?? 'dub' },
    ...f,
  }));
  if (rows.length > 0) await k('jobs').insert(rows);
  return rows.map((r) => r.id);
}

const times = (n: number, f: (i: number) => JobFields = () => ({})): JobFields[] =>
  Array.from({ length: n }, (_, i) => f(i));

async function insertBatch(k: Knex, tenantId: string, total: number): Promise<string> {
  const id = randomUUID();
  await k('batches').insert({ id, tenant_id: tenantId, total });
  return id;
}

/** The tenant's job ids in the index's order: newest first, id descending among equals. */
async function newestFirst(k: Knex, tenantId: string, where: (q: Knex.QueryBuilder) => Knex.QueryBuilder = (q) => q) {
  const q = k('jobs')
    .where({ tenant_id: tenantId })
    .orderBy([
      { column: 'created_at', order: 'desc' },
      { column: 'id', order: 'desc' },
    ])
    .select('id');
  return ((await where(q)) as { id: string }[]).map((r) => r.id);
}

beforeAll(async () => {
  env = await useTestEnv({ AIPROD_LOCAL_WORKERS: '0' });
  stack = await startStack({ loadFunction, port: 0, dataDir: env.dataDir, maintenanceSeconds: 0 });
});

afterAll(async () => {
  await stack.stop();
  await closeTestEnv();
});

describe('GET /jobs', () => {
  it('pages 20 by default and at most 100, newest first, next_cursor null on the last page', async () => {
    const t = await newTenantKey(env.db);
    await insertJobs(
      env.db,
      t.tenantId,
      times(130, (i) => ({ created_at: new Date(Date.UTC(2025, 0, 1) + i * 1000).toISOString() })),
    );
    const expected = await newestFirst(env.db, t.tenantId);

    const first = await list('', t.key);
    expect(first.status).toBe(200);
    expect(first.headers.get('cache-control')).toBe('no-store');
    expect(ids(first.body)).toEqual(expected.slice(0, 20));
    expect(first.body.next_cursor).toMatch(/^[A-Za-z0-9_-]+$/);

    const most = await list('?limit=100', t.key);
    expect(ids(most.body)).toEqual(expected.slice(0, 100));
    const rest = await list(`?limit=100&cursor=${most.body.next_cursor}`, t.key);
    expect(ids(rest.body)).toEqual(expected.slice(100));
    expect(rest.body.next_cursor).toBeNull();

    expect((await list('?limit=101', t.key)).status).toBe(422);
  });

  it('walks every job once, ties and microseconds apart included, with no empty last page', async () => {
    const t = await newTenantKey(env.db);
    // Nine jobs within one millisecond, microseconds apart: a cursor that kept milliseconds only
    // would skip or repeat them. Then five sharing one instant exactly (ordered by id), and older ones.
    await insertJobs(
      env.db,
      t.tenantId,
      times(9, (i) => ({ created_at: `2025-03-01T10:00:00.1234${i + 1}1Z` })),
    );
    await insertJobs(
      env.db,
      t.tenantId,
      times(5, () => ({ created_at: '2025-03-01T09:00:00.000007Z' })),
    );
    await insertJobs(
      env.db,
      t.tenantId,
      times(6, (i) => ({ created_at: `2025-02-0${i + 1}T00:00:00Z` })),
    );
    const expected = await newestFirst(env.db, t.tenantId);
    expect(expected).toHaveLength(20);

    for (const limit of [1, 2, 3, 7]) {
      const pages = await walk(t, '', limit);
      expect(pages.flat()).toEqual(expected);
      expect(pages.at(-1)!.length).toBeGreaterThan(0);
    }
    // A full last page ends the walk itself: 20 jobs, 4 pages of 5, no fifth.
    expect((await walk(t, '', 5)).map((p) => p.length)).toEqual([5, 5, 5, 5]);
  });

  it('shows each job as GET /pipeline/{id} does, with its batch and priority', async () => {
    const t = await newTenantKey(env.db);
    const batch = await insertBatch(env.db, t.tenantId, 1);
    const [failed, completed, batched, cancelled] = await insertJobs(env.db, t.tenantId, [
      {
        status: 'FAILED',
        stage: 'fetching',
        error_code: 'input_unreachable',
        error_message: 'The input could not be fetched.',
        started_at: '2025-04-01T10:00:01Z',
        completed_at: '2025-04-01T10:00:02Z',
        created_at: '2025-04-01T10:00:00Z',
      },
      {
        status: 'COMPLETED',
        recipe: 'still',
        progress: 100,
        stage: 'done',
        metadata: { order: 'A-17' },
        started_at: '2025-04-01T10:01:01Z',
        completed_at: '2025-04-01T10:01:30Z',
        created_at: '2025-04-01T10:01:00Z',
      },
      { batch_id: batch, priority: 2, created_at: '2025-04-01T10:02:00Z' },
      { status: 'CANCELLED', priority: 0, cancelled_at: '2025-04-01T10:03:05Z', created_at: '2025-04-01T10:03:00Z' },
    ]);
    const r = await list('', t.key);
    expect(ids(r.body)).toEqual([cancelled, batched, completed, failed]);
    for (const item of r.body.data as Json[]) {
      const res = await fetch(`${stack.url}/pipeline/${item.job_id}`, {
        headers: { authorization: `Bearer ${t.key}` },
      });
      const single = (await res.json()) as Json;
      // The signed URL is made per answer: its expiry may be a second apart.
      expect(item).toEqual({ ...single, events_url: expect.any(String), events_url_expires_at: expect.any(String) });
      expect(Object.keys(item)).toEqual(Object.keys(single));
      // A URL that opens the job's stream, without the key.
      const url = new URL(item.events_url);
      expect(url.pathname).toBe(`/pipeline/${item.job_id}/events`);
      const stream = await fetch(`${stack.url}${url.pathname}${url.search}`);
      expect(stream.status).toBe(200);
      expect(stream.headers.get('content-type')).toBe('text/event-stream');
      await stream.body?.cancel();
    }
    const byId = new Map((r.body.data as Json[]).map((j) => [j.job_id, j]));
    expect(byId.get(batched)).toMatchObject({ status: 'PENDING', batch_id: batch, priority: 'high' });
    expect(byId.get(completed)).toMatchObject({
      status: 'COMPLETED',
      recipe: 'still',
      progress: 100,
      stage: 'done',
      metadata: { order: 'A-17' },
      batch_id: null,
      priority: 'normal',
      created_at: '2025-04-01T10:01:00.000Z',
    });
    expect(byId.get(failed)).toMatchObject({
      error: { code: 'input_unreachable', message: 'The input could not be fetched.' },
    });
    expect(byId.get(cancelled)).toMatchObject({ status: 'CANCELLED', priority: 'low' });
  });

  describe('filters', () => {
    let t: Tenant;
    let batch: string;
    /** A job at exactly this instant, to test the bounds to the microsecond. */
    const EDGE = '2025-05-01T10:00:00.123456Z';

    beforeAll(async () => {
      t = await newTenantKey(env.db);
      batch = await insertBatch(env.db, t.tenantId, 4);
      const statuses = ['PENDING', 'PROCESSING', 'COMPLETED', 'FAILED', 'CANCELLED'];
      const recipes = ['dub', 'extract_audio', 'still'];
      await insertJobs(
        env.db,
        t.tenantId,
        times(30, (i) => ({
          status: statuses[i % 5],
          recipe: recipes[i % 3],
          ...(i % 7 === 0 ? { batch_id: batch } : {}),
          created_at: new Date(Date.UTC(2025, 4, 1, 9) + i * 240_000).toISOString(),
        })),
      );
      await insertJobs(env.db, t.tenantId, [
        { created_at: '2025-05-01T10:00:00.123455Z' },
        { created_at: EDGE },
        { created_at: '2025-05-01T10:00:00.123457Z' },
      ]);
    });

    const check = async (query: string, where: (q: Knex.QueryBuilder) => Knex.QueryBuilder) => {
      const expected = await newestFirst(env.db, t.tenantId, where);
      expect(expected.length).toBeGreaterThan(0);
      expect((await walk(t, query, 4)).flat()).toEqual(expected);
    };

    it('by one status', () => check('status=FAILED', (q) => q.where({ status: 'FAILED' })));

    it('by several statuses', () =>
      check('status=PENDING,CANCELLED,PENDING', (q) => q.whereIn('status', ['PENDING', 'CANCELLED'])));

    it('by recipe', () => check('recipe=extract_audio', (q) => q.where({ recipe: 'extract_audio' })));

    it('by batch', () => check(`batch_id=${batch.toUpperCase()}`, (q) => q.where({ batch_id: batch })));

    it('by creation time, both bounds strict, to the microsecond', async () => {
      await check(`created_after=${EDGE}`, (q) => q.where('created_at', '>', EDGE));
      await check(`created_before=${EDGE}`, (q) => q.where('created_at', '<', EDGE));
      const around = await list(
        '?created_after=2025-05-01T10:00:00.123455Z&created_before=2025-05-01T10:00:00.123457Z',
        t.key,
      );
      expect(ids(around.body)).toEqual(await newestFirst(env.db, t.tenantId, (q) => q.where('created_at', EDGE)));
      expect(around.body.data).toHaveLength(1);
      // The same instants with an offset (its "+" encoded), and in lower case.
      const offset = await list(
        '?created_after=2025-05-01T11:00:00.123455%2B01:00&created_before=2025-05-01t10:00:00.123457z',
        t.key,
      );
      expect(ids(offset.body)).toEqual(ids(around.body));
    });

    it('all at once: a job must match every filter', () =>
      check(
        `status=PENDING,COMPLETED&recipe=dub&batch_id=${batch}&created_after=2025-05-01T08:59:59.999999Z&created_before=2025-05-01T12:00:00Z`,
        (q) =>
          q
            .whereIn('status', ['PENDING', 'COMPLETED'])
            .where({ recipe: 'dub', batch_id: batch })
            .where('created_at', '>', '2025-05-01T08:59:59.999999Z')
            .where('created_at', '<', '2025-05-01T12:00:00Z'),
      ));

    it('answers an empty page when nothing matches', async () => {
      expect((await list(`?batch_id=${randomUUID()}`, t.key)).body).toEqual({ data: [], next_cursor: null });
      expect((await list('?created_before=2000-01-01T00:00:00Z', t.key)).body).toEqual({ data: [], next_cursor: null });
    });

    it.each<[string, string, { field: string; code: string }[]]>([
      ['an unknown status', 'status=DONE', [{ field: 'status', code: 'unsupported_value' }]],
      ['a status in lower case', 'status=pending', [{ field: 'status', code: 'unsupported_value' }]],
      ['an empty status among others', 'status=PENDING,', [{ field: 'status', code: 'unsupported_value' }]],
      ['status given twice', 'status=PENDING&status=FAILED', [{ field: 'status', code: 'invalid_type' }]],
      ['an unknown recipe', 'recipe=karaoke', [{ field: 'recipe', code: 'unsupported_value' }]],
      ['recipe given twice', 'recipe=dub&recipe=still', [{ field: 'recipe', code: 'invalid_type' }]],
      ['a batch_id that is not a UUID', 'batch_id=batch-1', [{ field: 'batch_id', code: 'invalid_uuid' }]],
      ['a timestamp in words', 'created_after=yesterday', [{ field: 'created_after', code: 'invalid_timestamp' }]],
      [
        'a day that does not exist',
        'created_after=2025-02-29T00:00:00Z',
        [{ field: 'created_after', code: 'invalid_timestamp' }],
      ],
      [
        'a timestamp without an offset',
        'created_before=2025-01-31T09:30:00',
        [{ field: 'created_before', code: 'invalid_timestamp' }],
      ],
      ['hour 24', 'created_before=2025-01-31T24:00:00Z', [{ field: 'created_before', code: 'invalid_timestamp' }]],
      ['year 0', 'created_before=0000-01-01T00:00:00Z', [{ field: 'created_before', code: 'invalid_timestamp' }]],
      ['limit 0', 'limit=0', [{ field: 'limit', code: 'out_of_range' }]],
      ['limit 101', 'limit=101', [{ field: 'limit', code: 'out_of_range' }]],
      ['a cursor this API did not issue', 'cursor=bm90LWEtY3Vyc29y', [{ field: 'cursor', code: 'invalid_cursor' }]],
      [
        'a well-formed cursor in year 0',
        `cursor=${Buffer.from('0000-01-01T00:00:00.000000Z|00000000-0000-4000-8000-000000000000').toString('base64url')}`,
        [{ field: 'cursor', code: 'invalid_cursor' }],
      ],
      ['an unknown parameter', 'page=2', [{ field: 'page', code: 'unknown_field' }]],
      [
        'several bad parameters',
        'status=DONE&limit=1000&batch_id=x',
        [
          { field: 'limit', code: 'out_of_range' },
          { field: 'status', code: 'unsupported_value' },
          { field: 'batch_id', code: 'invalid_uuid' },
        ],
      ],
    ])('answers 422 validation_failed for %s', async (_what, query, errors) => {
      const res = await fetch(`${stack.url}/jobs?${query}`, { headers: { authorization: `Bearer ${t.key}` } });
      expect(res.status).toBe(422);
      expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      const body = (await res.json()) as Json;
      expect(body).toMatchObject({ status: 422, code: 'validation_failed', instance: '/jobs' });
      expect(body.errors).toHaveLength(errors.length);
      expect(body.errors).toEqual(expect.arrayContaining(errors.map((e) => expect.objectContaining(e))));
    });

    it('hints at an unencoded "+" in an offset', async () => {
      const r = await list('?created_after=2025-05-01T11:00:00+01:00', t.key);
      expect(r.status).toBe(422);
      expect(r.body.errors).toEqual([
        expect.objectContaining({
          field: 'created_after',
          code: 'invalid_timestamp',
          message: expect.stringContaining('%2B'),
        }),
      ]);
    });
  });

  it("never shows another tenant's jobs, by batch or by cursor", async () => {
    const mine = await newTenantKey(env.db);
    const theirs = await newTenantKey(env.db);
    const theirBatch = await insertBatch(env.db, theirs.tenantId, 3);
    const their = await insertJobs(
      env.db,
      theirs.tenantId,
      times(3, () => ({ batch_id: theirBatch })),
    );
    expect((await list('', mine.key)).body).toEqual({ data: [], next_cursor: null });
    expect((await list(`?batch_id=${theirBatch}`, mine.key)).body).toEqual({ data: [], next_cursor: null });
    const own = await insertJobs(env.db, mine.tenantId, times(2));
    // Their cursor only marks a place in time: it reads nothing of theirs.
    const theirCursor = (await list('?limit=1', theirs.key)).body.next_cursor;
    const crossed = await list(`?cursor=${theirCursor}`, mine.key);
    expect(crossed.status).toBe(200);
    for (const id of ids(crossed.body)) expect(own).toContain(id);
    expect(ids((await list('', mine.key)).body).sort()).toEqual([...own].sort());
    expect(ids((await list('?limit=100', theirs.key)).body).sort()).toEqual([...their].sort());
  });

  it('walks stably while jobs are submitted: every job there at the start seen once, none twice', async () => {
    const t = await newTenantKey(env.db);
    // Yesterday's jobs, some sharing an instant; the jobs submitted during the walk are newer.
    const start = Date.now() - 86_400_000;
    await insertJobs(
      env.db,
      t.tenantId,
      times(80, (i) => ({ created_at: new Date(start + Math.floor(i / 3) * 1000).toISOString() })),
    );
    const before = await newestFirst(env.db, t.tenantId);

    // A writer submitting all along, one statement a job as submit writes it, and more between pages.
    // Each job's id is noted before its insert starts, so what may have joined the walk is known
    // exactly: the jobs whose insert started before the first page had been answered.
    const started: string[] = [];
    const submit = async (n: number): Promise<void> => {
      const fields = times(n, () => ({ id: randomUUID() }));
      started.push(...fields.map((f) => f.id as string));
      written += (await insertJobs(env.db, t.tenantId, fields)).length;
    };
    let writing = true;
    let written = 0;
    const writer = (async () => {
      while (writing) {
        await submit(2);
        await new Promise((r) => setTimeout(r, 2));
      }
    })();
    let pages: string[][];
    let mayHaveJoined: Set<string> | undefined;
    try {
      pages = await walk(t, '', 6, async () => {
        mayHaveJoined ??= new Set(started);
        await submit(3);
      });
    } finally {
      writing = false;
      await writer;
    }
    const seen = pages.flat();
    expect(written).toBeGreaterThan(pages.length * 3);
    expect(new Set(seen).size).toBe(seen.length);
    const known = new Set(before);
    expect(seen.filter((id) => known.has(id))).toEqual(before);
    // Only what was there before the first page was read can have joined the walk, and only at its head.
    const joined = seen.filter((id) => !known.has(id));
    expect(joined.filter((id) => !mayHaveJoined!.has(id))).toEqual([]);
    expect(seen.slice(0, joined.length)).toEqual(joined);
  });

  it('answers 401 without a key', async () => {
    const r = await list('', null);
    expect(r.status).toBe(401);
    expect(r.body.code).toBe('unauthorized');
  });
});

describe('with DATABASE_REPLICA_URL', () => {
  // A second database stands in for the replica: it holds other rows than the primary, so what
  // the listing answers shows where it read. The API key is still checked on the primary.
  const replicaName = `aiprod_t_replica_${randomBytes(6).toString('hex')}`;
  let replica: Knex;
  let t: Tenant;
  let onPrimary: string[];
  let onReplica: string[];

  beforeAll(async () => {
    const base = process.env.AIPROD_TEST_BASE_URL!;
    const admin = connect(withDatabaseName(base, 'postgres'), 1);
    try {
      await admin.raw(`CREATE DATABASE ${replicaName} TEMPLATE ${TEMPLATE_DB}`);
    } finally {
      await admin.destroy();
    }
    replica = connect(withDatabaseName(base, replicaName), 2);
    t = await newTenantKey(env.db);
    await replica('tenants').insert(await env.db('tenants').where({ id: t.tenantId }).first());
    onPrimary = await insertJobs(env.db, t.tenantId, times(2));
    onReplica = await insertJobs(replica, t.tenantId, times(3));
  });

  afterAll(async () => {
    delete process.env.DATABASE_REPLICA_URL;
    resetConfig();
    await replica.destroy();
  });

  it('lists from the replica when it is set, from the primary when it is not', async () => {
    expect(ids((await list('', t.key)).body).sort()).toEqual([...onPrimary].sort());

    process.env.DATABASE_REPLICA_URL = withDatabaseName(process.env.AIPROD_TEST_BASE_URL!, replicaName);
    resetConfig();
    const fromReplica = await list('', t.key);
    expect(fromReplica.status).toBe(200);
    expect(ids(fromReplica.body).sort()).toEqual([...onReplica].sort());
    // Its own pool, on the replica's server: a session of this process is there now.
    const sessions = await replica.raw('SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = ?', [
      replicaName,
    ]);
    expect(sessions.rows[0].n).toBeGreaterThanOrEqual(2);

    // A replica URL that is the primary's own reads the primary.
    process.env.DATABASE_REPLICA_URL = env.url;
    resetConfig();
    expect(ids((await list('', t.key)).body).sort()).toEqual([...onPrimary].sort());

    delete process.env.DATABASE_REPLICA_URL;
    resetConfig();
    expect(ids((await list('', t.key)).body).sort()).toEqual([...onPrimary].sort());
  });
});
