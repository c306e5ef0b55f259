/**
 * GET /metrics on the local stack with real jobs (push bus -> job-processor, real ffmpeg) and a
 * real PostgreSQL: the exposition passes `promtool check metrics` and every aiprod_ family in it is
 * documented; the token is required when set, the endpoint open locally without one and refused
 * on Google Cloud; the figures move with what happens (requests counted per function, a 429
 * counted as a refusal, waiting jobs as queue depth, completed jobs in the job counts and the
 * processing histogram); a database that does not answer leaves the system figures out of a 200
 * answer and counts a scrape error.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { createReadStream, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { closeRedis } from '../../shared/cache/redis';
import { setClock } from '../../shared/clock';
import { resetConfig } from '../../shared/config';
import { TIER_LIMITS } from '../../shared/http/rate-limit';
import type { Stack } from '../../shared/local/stack';
import { PROCESSING_BUCKETS } from '../../shared/metrics/system-figures';
import { flushUsage } from '../../shared/usage/meter';
import { closeTestEnv, newTenantKey, type TestEnv, useTestEnv } from '../support/database';
import { makeClip } from '../support/media-fixtures';
import { type Exposition, parseExposition, promtoolCheck, samplesOf, valueOf } from '../support/prometheus';
import { startTestStack } from '../support/stack';
import { until } from '../support/webhook-fixtures';

const TOKEN = randomBytes(24).toString('base64url');
const METRICS_DOC = join(__dirname, '../../docs/metrics.md');

let env: TestEnv;
let stack: Stack;
let clips: GatedServer;

interface GatedServer {
  url: string;
  open(): void;
  close(): Promise<void>;
}

/** Serves one clip, holding every answer until opened: a job fetching it stays PROCESSING meanwhile. */
async function gatedClipServer(file: string): Promise<GatedServer> {
  let open!: () => void;
  const gate = new Promise<void>((r) => (open = r));
  const server: Server = createServer((_req, res) => {
    void gate.then(() => {
      res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': statSync(file).size });
      createReadStream(file).pipe(res);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    open,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

async function get(path: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${stack.url}${path}`, { headers });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

/** One scrape with the token, which must succeed. */
async function scrape(): Promise<{ text: string; metrics: Exposition }> {
  const r = await get('/metrics', { authorization: `Bearer ${TOKEN}` });
  if (r.status !== 200) throw new Error(`GET /metrics answered ${r.status}: ${r.text}`);
  return { text: r.text, metrics: parseExposition(r.text) };
}

/** A histogram's buckets as [le, count] pairs, in the exposition's order. */
const buckets = (e: Exposition, labels: Record<string, string>): [string, number][] =>
  samplesOf(e, 'aiprod_job_processing_seconds_bucket', labels).map((b) => [b.labels.le!, b.value]);

async function call(key: string, method: string, path: string, json?: unknown) {
  const res = await fetch(`${stack.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(json === undefined ? {} : { 'content-type': 'application/json' }) },
    body: json === undefined ? undefined : JSON.stringify(json),
  });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

/** With the environment changed for the duration of `body`, as the stack's functions read it. */
async function withEnv<T>(vars: Record<string, string | undefined>, body: () => Promise<T>): Promise<T> {
  const before = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  const apply = (values: Record<string, string | undefined>) => {
    for (const [k, v] of Object.entries(values)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    resetConfig();
  };
  apply(vars);
  try {
    return await body();
  } finally {
    apply(before);
  }
}

beforeAll(async () => {
  env = await useTestEnv({
    AIPROD_METRICS_TOKEN: TOKEN,
    // Counters of this run apart from any other run's in a shared Redis.
    AIPROD_RATE_LIMIT_PREFIX: `rl-test-${randomBytes(6).toString('hex')}:`,
  });
  stack = await startTestStack(env);
  const dir = mkdtempSync(join(tmpdir(), 'aiprod-metrics-in-'));
  clips = await gatedClipServer(makeClip(join(dir, 'clip.mp4'), { seconds: 3 }));
});

afterAll(async () => {
  await stack.stop();
  await clips.close();
  await closeTestEnv();
  await closeRedis();
  delete process.env.AIPROD_METRICS_TOKEN;
});

describe('the exposition', () => {
  // Without promtool the check is shown skipped, with the reason; where CI is set it fails instead.
  const promtool = spawnSync('promtool', ['--version']);
  const itWithPromtool = promtool.error && !process.env.CI ? it.skip : it;

  itWithPromtool('passes promtool check metrics (required where CI is set)', async () => {
    const { text } = await scrape();
    const verdict = promtoolCheck(text);
    if (!verdict.available) throw new Error(`${verdict.why}; install Prometheus's promtool (CI is set)`);
    expect(verdict.output).toBe('');
    expect(verdict.status).toBe(0);
  });

  it('is Prometheus text with every family of the registry, each aiprod_ one documented in docs/metrics.md', async () => {
    const r = await get('/metrics', { authorization: `Bearer ${TOKEN}` });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(r.headers.get('cache-control')).toBe('no-store');
    const { types } = parseExposition(r.text);
    expect(types.get('aiprod_http_requests_total')).toBe('counter');
    expect(types.get('aiprod_http_request_duration_seconds')).toBe('histogram');
    expect(types.get('aiprod_job_processing_seconds')).toBe('histogram');
    expect(types.get('aiprod_jobs')).toBe('gauge');
    // collectDefaultMetrics, in the same registry.
    expect(types.get('process_cpu_user_seconds_total')).toBe('counter');
    expect(types.get('nodejs_eventloop_lag_seconds')).toBe('gauge');

    const documented = new Set(readFileSync(METRICS_DOC, 'utf8').match(/\baiprod_[a-z_]+[a-z]/g));
    const exposed = [...types.keys()].filter((name) => name.startsWith('aiprod_'));
    expect(exposed.filter((name) => !documented.has(name))).toEqual([]);
  });
});

describe('access', () => {
  it('requires the token when one is set: 401 problem+json without it or with another', async () => {
    const wrong: Record<string, string>[] = [{}, { authorization: `Bearer ${TOKEN}x` }, { authorization: TOKEN }];
    for (const headers of wrong) {
      const r = await get('/metrics', headers);
      expect(r.status).toBe(401);
      expect(r.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(JSON.parse(r.text)).toMatchObject({ status: 401, code: 'unauthorized' });
      expect(r.headers.get('www-authenticate')).toMatch(/^Bearer /);
    }
  });

  it('is never rate-limited and never metered as usage', async () => {
    const r = await get('/metrics', { authorization: `Bearer ${TOKEN}` });
    expect(r.status).toBe(200);
    expect(r.headers.get('ratelimit-policy')).toBeNull();
    await flushUsage();
    expect(await env.db('usage_daily').where({ endpoint: 'GET /metrics' })).toEqual([]);
  });

  it('is open without a token in local mode', async () => {
    await withEnv({ AIPROD_METRICS_TOKEN: undefined }, async () => {
      const r = await get('/metrics');
      expect(r.status).toBe(200);
      expect(parseExposition(r.text).types.get('aiprod_jobs')).toBe('gauge');
    });
  });

  it('refuses to serve without a token on Google Cloud: 503 metrics_token_unset', async () => {
    await withEnv({ AIPROD_METRICS_TOKEN: undefined, AIPROD_MODE: 'gcp' }, async () => {
      const r = await get('/metrics', { authorization: `Bearer ${TOKEN}` });
      expect(r.status).toBe(503);
      expect(r.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(JSON.parse(r.text)).toMatchObject({ status: 503, code: 'metrics_token_unset' });
    });
  });
});

describe('the figures', () => {
  it('count a 429 as a refusal of its budget and window, and the request under its function', async () => {
    const { key } = await newTenantKey(env.db, 'free');
    const before = (await scrape()).metrics;
    const refusals = { policy: 'submit', window: 'minute', caller: 'tenant' };
    // A fixed instant: the tier's minute window cannot roll over between the calls.
    setClock(() => Date.UTC(2031, 6, 1, 12, 0, 0));
    try {
      // A submit the handler answers at once: a free tenant may not register webhooks (403).
      for (let i = 0; i < TIER_LIMITS.free.submit.minute!; i++)
        expect((await call(key, 'POST', '/webhooks', {})).status).toBe(403);
      const refused = await call(key, 'POST', '/webhooks', {});
      expect(refused.status).toBe(429);
    } finally {
      setClock();
    }
    const after = (await scrape()).metrics;
    expect(valueOf(after, 'aiprod_rate_limit_refusals_total', refusals)).toBe(
      valueOf(before, 'aiprod_rate_limit_refusals_total', refusals) + 1,
    );
    const webhooks = (code: string) => ({ function: 'webhooks-create', method: 'POST', code });
    const counted = (e: Exposition, code: string) => valueOf(e, 'aiprod_http_requests_total', webhooks(code));
    expect(counted(after, '429')).toBe(counted(before, '429') + 1);
    expect(counted(after, '403')).toBe(counted(before, '403') + TIER_LIMITS.free.submit.minute!);
    const timed = (e: Exposition) => valueOf(e, 'aiprod_http_request_duration_seconds_count', webhooks('429'));
    expect(timed(after)).toBe(timed(before) + 1);
  });

  it('follow real jobs: queue depth while they wait, then the completed count and the processing histogram', async () => {
    // Free tier: one job runs at a time, the others wait PENDING behind it.
    const { key } = await newTenantKey(env.db, 'free');
    const before = (await scrape()).metrics;
    const submit = { function: 'pipeline-run', method: 'POST', code: '202' };
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await call(key, 'POST', '/pipeline/run', {
        recipe: 'extract_audio',
        video_url: `${clips.url}/clip.mp4`,
      });
      expect(r.status).toBe(202);
      ids.push(r.body.job_id as string);
    }
    // The first job is fetching its input, held by the server; the other two wait their turn.
    await until(
      async () => (await env.db('jobs').where({ id: ids[0], status: 'PROCESSING' }).first()) !== undefined,
      'the first job to start',
    );
    const waiting = (await scrape()).metrics;
    expect(valueOf(waiting, 'aiprod_jobs_queue_depth', { priority: 'normal' })).toBe(2);
    expect(valueOf(waiting, 'aiprod_jobs_queue_depth', { priority: 'high' })).toBe(0);
    expect(valueOf(waiting, 'aiprod_jobs', { status: 'PENDING' })).toBe(2);
    expect(valueOf(waiting, 'aiprod_jobs', { status: 'PROCESSING' })).toBe(1);
    expect(valueOf(waiting, 'aiprod_jobs_oldest_pending_age_seconds')).toBeGreaterThan(0);
    expect(valueOf(waiting, 'aiprod_http_requests_total', submit)).toBe(
      valueOf(before, 'aiprod_http_requests_total', submit) + 3,
    );

    clips.open();
    await until(
      async () => {
        const rows: { id: string; status: string }[] = await env.db('jobs').whereIn('id', ids);
        const failed = rows.find((r) => r.status === 'FAILED');
        if (failed) throw new Error(`job ${failed.id} failed: ${JSON.stringify(failed)}`);
        return rows.every((r) => r.status === 'COMPLETED');
      },
      'the three jobs to complete',
      100_000,
    );
    const done = (await scrape()).metrics;
    expect(valueOf(done, 'aiprod_jobs', { status: 'COMPLETED' })).toBe(
      valueOf(before, 'aiprod_jobs', { status: 'COMPLETED' }) + 3,
    );
    expect(valueOf(done, 'aiprod_jobs_queue_depth')).toBe(0);
    expect(valueOf(done, 'aiprod_jobs_oldest_pending_age_seconds')).toBe(0);

    const ended = { recipe: 'extract_audio', status: 'COMPLETED' };
    const count = (e: Exposition) => valueOf(e, 'aiprod_job_processing_seconds_count', ended);
    expect(count(done)).toBe(count(before) + 3);
    // Each bucket counts the jobs whose time is at most its bound, +Inf all of them; the sum is their times'.
    const times: number[] = (
      await env.db('jobs').where(ended).select(env.db.raw("date_part('epoch', completed_at - started_at) AS seconds"))
    ).map((r: { seconds: number }) => r.seconds);
    expect(buckets(done, ended)).toEqual([
      ...PROCESSING_BUCKETS.map((le) => [String(le), times.filter((t) => t <= le).length]),
      ['+Inf', times.length],
    ]);
    expect(valueOf(done, 'aiprod_job_processing_seconds_sum', ended)).toBeCloseTo(
      times.reduce((sum, t) => sum + t, 0),
      6,
    );

    // The scrapes themselves are requests of the metrics function.
    const scrapes = (e: Exposition) =>
      valueOf(e, 'aiprod_http_requests_total', { function: 'metrics', method: 'GET', code: '200' });
    expect(scrapes(done)).toBeGreaterThanOrEqual(scrapes(before) + 2);
  });

  it("put a job that took exactly a bucket's bound in that bucket, and one a millisecond longer in the next", async () => {
    const { tenantId } = await newTenantKey(env.db, 'free');
    const ended = (seconds: number) => ({
      id: randomUUID(),
      tenant_id: tenantId,
      status: 'FAILED',
      recipe: 'still',
      request: { recipe: 'still', image_url: 'https://images.example.com/still.png' },
      started_at: env.db.raw("now() - interval '1 hour'"),
      completed_at: env.db.raw(`now() - interval '1 hour' + ${seconds} * interval '1 second'`),
    });
    await env.db('jobs').insert([ended(60), ended(60.001), ended(5000)]);
    const still = { recipe: 'still', status: 'FAILED' };
    const counts = Object.fromEntries(buckets((await scrape()).metrics, still));
    expect(counts).toMatchObject({ '30': 0, '60': 1, '90': 2, '1800': 2, '+Inf': 3 });
  });

  it("answer 200 without the system figures while the database does not, counting a scrape error, the pool's lent connection shown", async () => {
    const before = (await scrape()).metrics;
    expect(samplesOf(before, 'aiprod_jobs')).toHaveLength(5);
    // A lock no statement on jobs gets past: the scrape's read ends at its statement timeout.
    const trx = await env.db.transaction();
    let during: Exposition;
    try {
      await trx.raw('LOCK TABLE jobs IN ACCESS EXCLUSIVE MODE');
      during = (await scrape()).metrics;
    } finally {
      await trx.rollback();
    }
    expect(samplesOf(during, 'aiprod_jobs')).toEqual([]);
    expect(samplesOf(during, 'aiprod_job_processing_seconds_count')).toEqual([]);
    expect(samplesOf(during, 'aiprod_webhook_deliveries')).toEqual([]);
    expect(valueOf(during, 'aiprod_metrics_scrape_errors_total')).toBe(
      valueOf(before, 'aiprod_metrics_scrape_errors_total') + 1,
    );
    // What the instance knows by itself is still there: the transaction held a connection.
    expect(valueOf(during, 'aiprod_db_pool_connections', { pool: 'primary', state: 'used' })).toBeGreaterThanOrEqual(1);
    expect(valueOf(during, 'aiprod_db_pool_max_connections', { pool: 'primary' })).toBe(10);
    expect(samplesOf(during, 'aiprod_http_requests_total').length).toBeGreaterThan(0);

    const after = (await scrape()).metrics;
    expect(samplesOf(after, 'aiprod_jobs')).toHaveLength(5);
  });
});
