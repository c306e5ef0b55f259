/**
 * Webhook delivery on the local stack: job-results -> result-notifier -> job-notifications ->
 * webhook-deliverer -> a receiver, over real HTTP, with real PostgreSQL, the push bus and the
 * maintenance tick (every second here, with a retry schedule of seconds). Every delivery a
 * receiver gets is verified as a partner would verify it (standardwebhooks for hmac, node:crypto
 * for ed25519). Webhooks are written straight into the database; jobs are ended with completeJob.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { completeJob } from '../../shared/jobs/complete';
import type { Stack } from '../../shared/local/stack';
import { logger } from '../../shared/log';
import { FetchError } from '../../shared/net';
import { freePort } from '../../shared/net/free-port';
import { postWithPolicy } from '../../shared/net/post';
import { transport } from '../../shared/platform';
import { jobEventId } from '../../shared/webhooks/events';
import { closeTestEnv, newTenantKey, type TestEnv, useTestEnv } from '../support/database';
import { startTestStack } from '../support/stack';
import { insertWebhook, Receiver, until } from '../support/webhook-fixtures';

let env: TestEnv;
let stack: Stack;
let receiver: Receiver;
let tenant: { key: string; tenantId: string };
let other: { key: string; tenantId: string };
let warn: jest.SpyInstance;

beforeAll(async () => {
  env = await useTestEnv({
    // Five attempts, a second apart (the tick runs every second).
    AIPROD_WEBHOOK_RETRY_SECONDS: '0,1,1,1,1',
    AIPROD_WEBHOOK_DISABLE_AFTER: '2',
    AIPROD_WEBHOOK_MAX_IN_FLIGHT: '1',
  });
  stack = await startTestStack(env, { maintenanceSeconds: 1 });
  receiver = await new Receiver().start();
  warn = jest.spyOn(logger(), 'warn');
});

afterAll(async () => {
  await stack.stop();
  await receiver.stop();
  await closeTestEnv();
});

// A tenant of its own per test: a job's end fans out to every webhook of its tenant.
beforeEach(async () => {
  tenant = await newTenantKey(env.db);
  other = await newTenantKey(env.db);
});

afterEach(() => {
  // A request a failed test left held open would keep the bus from draining for the next one.
  receiver.release(200);
  expect(receiver.problems).toEqual([]);
});

/** Ends a new job of the tenant the way the job-processor does: outcome and job-results message. */
async function endJob(tenantId: string, status: 'COMPLETED' | 'FAILED' = 'COMPLETED'): Promise<string> {
  const id = randomUUID();
  await env.db('jobs').insert({
    id,
    tenant_id: tenantId,
    status: 'PROCESSING',
    recipe: 'dub',
    request: { recipe: 'dub', video_url: 'https://videos.example.com/a.mp4', voice_text: 'Words.' },
    metadata: JSON.stringify({ order: 'PO-7' }),
    lease_owner: 'worker',
    lease_expires_at: env.db.raw("now() + interval '1 minute'"),
    attempts: 1,
  });
  const ended = await completeJob(
    env.db,
    { id, tenant_id: tenantId },
    'worker',
    status === 'COMPLETED'
      ? {
          status,
          result: {
            bucket: 'aiprod-outputs',
            key: `${id}.mp4`,
            content_type: 'video/mp4',
            size_bytes: 1000,
            duration_seconds: 4,
            video: { codec: 'h264', width: 320, height: 240, fps: 25, copied: true },
            audio: { codec: 'aac', sample_rate: 48000, channels: 2 },
            loudness: { integrated_lufs: -14, true_peak_dbtp: -1.5, lra: 4, target_lufs: -14 },
          },
        }
      : { status, code: 'input_unreachable', message: 'The input could not be fetched.' },
  );
  expect(ended).toBe(true);
  return id;
}

const api = (path: string, init: RequestInit & { key?: string } = {}) =>
  fetch(`${stack.url}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${init.key ?? tenant.key}`, ...(init.headers ?? {}) },
  });

const deliveriesOf = (webhookId: string) => env.db('webhook_deliveries').where({ webhook_id: webhookId });
const webhookRow = (id: string) => env.db('webhooks').where({ id }).first();
const attemptsOf = async (deliveryId: string) =>
  env.db('webhook_attempts').where({ delivery_id: deliveryId }).orderBy('id');
const finished = async (webhookId: string, n = 1) => {
  const rows = await deliveriesOf(webhookId).whereIn('state', ['succeeded', 'failed']);
  return rows.length >= n ? rows : null;
};

describe('a job that ends', () => {
  it('fires job.completed to the subscribed webhook only, once, signed, with the status view', async () => {
    const hook = receiver.route(() => ({ status: 200 }));
    const subscribed = await insertWebhook(env.db, { tenantId: tenant.tenantId, url: hook.url });
    hook.verifyWith(subscribed.shown);
    const failedOnly = receiver.route(() => ({ status: 200 }));
    await insertWebhook(env.db, { tenantId: tenant.tenantId, url: failedOnly.url, events: ['job.failed'] });
    const disabled = receiver.route(() => ({ status: 200 }));
    await insertWebhook(env.db, { tenantId: tenant.tenantId, url: disabled.url, status: 'disabled' });
    const othersHook = receiver.route(() => ({ status: 200 }));
    await insertWebhook(env.db, { tenantId: other.tenantId, url: othersHook.url });

    const jobId = await endJob(tenant.tenantId);
    await until(() => finished(subscribed.id), 'the delivery');
    const [got] = receiver.at(hook.path);
    expect(got!.headers['webhook-id']).toBe(jobEventId('job.completed', jobId));
    expect(got!.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/=]+$/);
    expect(got!.json).toEqual({
      type: 'job.completed',
      timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      data: expect.objectContaining({
        job_id: jobId,
        status: 'COMPLETED',
        progress: 100,
        metadata: { order: 'PO-7' },
        completed_at: got!.json.timestamp,
      }),
    });
    expect(Buffer.byteLength(got!.body)).toBeLessThan(20 * 1024);
    const status = (await (await api(`/pipeline/${jobId}`)).json()) as Record<string, unknown>;
    for (const field of ['job_id', 'status', 'progress', 'metadata', 'created_at', 'completed_at'])
      expect(got!.json.data[field]).toEqual(status[field]);

    // The job-results message delivered again (Pub/Sub is at-least-once): nothing new.
    const [message] = await env
      .db('outbox')
      .where({ topic: 'job-results' })
      .whereRaw("payload->>'job_id' = ?", [jobId]);
    await transport().publish('job-results', message.payload, message.attributes);
    await stack.bus.drain();
    expect(await deliveriesOf(subscribed.id)).toHaveLength(1);
    expect(receiver.at(hook.path)).toHaveLength(1);
    expect(receiver.at(failedOnly.path)).toHaveLength(0);
    expect(receiver.at(disabled.path)).toHaveLength(0);
    expect(receiver.at(othersHook.path)).toHaveLength(0);
    expect(await deliveriesOf(subscribed.id).first()).toMatchObject({ state: 'succeeded', attempts: 1 });
  });

  it('fires job.failed with the error', async () => {
    const hook = receiver.route(() => ({ status: 204 }));
    const webhook = await insertWebhook(env.db, { tenantId: tenant.tenantId, url: hook.url, events: ['job.failed'] });
    hook.verifyWith(webhook.shown);
    const jobId = await endJob(tenant.tenantId, 'FAILED');
    await until(() => finished(webhook.id), 'the delivery');
    expect(receiver.at(hook.path)[0]!.json).toMatchObject({
      type: 'job.failed',
      data: { job_id: jobId, status: 'FAILED', error: { code: 'input_unreachable' } },
    });
  });

  it.each(['hmac', 'ed25519'] as const)(
    'signs with both keys during a rotation (%s): either one verifies',
    async (signing) => {
      const hook = receiver.route(() => ({ status: 200 }));
      const webhook = await insertWebhook(env.db, {
        tenantId: tenant.tenantId,
        url: hook.url,
        signing,
        rotating: true,
      });
      // Each key on its own must verify.
      hook.verifyWith(webhook.shown, webhook.previousShown!);
      await endJob(tenant.tenantId);
      await until(() => finished(webhook.id), 'the delivery');
      const signatures = receiver.at(hook.path)[0]!.headers['webhook-signature']!.split(' ');
      expect(signatures).toHaveLength(2);
      expect(signatures.every((s) => s.startsWith(signing === 'hmac' ? 'v1,' : 'v1a,'))).toBe(true);
    },
  );
});

describe('retries', () => {
  it('gets a flapping receiver its delivery: 500 three times, then 200, same webhook-id, fresh signatures', async () => {
    const hook = receiver.route((_r, n) => ({ status: n <= 3 ? 500 : 200 }));
    const webhook = await insertWebhook(env.db, { tenantId: tenant.tenantId, url: hook.url, signing: 'ed25519' });
    hook.verifyWith(webhook.shown);
    await endJob(tenant.tenantId);
    const [delivery] = await until(() => finished(webhook.id), 'the delivery');
    expect(delivery).toMatchObject({ state: 'succeeded', attempts: 4, next_attempt_at: null });
    const got = receiver.at(hook.path);
    expect(got).toHaveLength(4);
    expect(new Set(got.map((g) => g.headers['webhook-id']))).toEqual(new Set([delivery.event_id]));
    expect(new Set(got.map((g) => g.headers['webhook-signature'])).size).toBe(4);
    expect((await attemptsOf(delivery.id)).map((a) => a.status_code)).toEqual([500, 500, 500, 200]);
    expect(await webhookRow(webhook.id)).toMatchObject({ status: 'active', consecutive_failures: 0 });
  });

  it('waits as long as Retry-After says before the next attempt', async () => {
    const hook = receiver.route((_r, n) =>
      n === 1 ? { status: 503, headers: { 'Retry-After': '3' } } : { status: 200 },
    );
    const webhook = await insertWebhook(env.db, { tenantId: tenant.tenantId, url: hook.url });
    hook.verifyWith(webhook.shown);
    await endJob(tenant.tenantId);
    const [delivery] = await until(() => finished(webhook.id), 'the delivery');
    expect(delivery.state).toBe('succeeded');
    const [first, second] = receiver.at(hook.path);
    // The schedule alone would have retried after a second.
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(3000);
    const attempts = await attemptsOf(delivery.id);
    expect(attempts.map((a) => a.status_code)).toEqual([503, 200]);
    expect(
      new Date(attempts[1].attempted_at).getTime() - new Date(attempts[0].attempted_at).getTime(),
    ).toBeGreaterThanOrEqual(3000);
  });

  it('disables a webhook whose receiver answers 410 at once, after one attempt', async () => {
    warn.mockClear();
    const hook = receiver.route(() => ({ status: 410 }));
    const webhook = await insertWebhook(env.db, { tenantId: tenant.tenantId, url: hook.url });
    hook.verifyWith(webhook.shown);
    await endJob(tenant.tenantId);
    await until(() => finished(webhook.id), 'the delivery');
    expect(await webhookRow(webhook.id)).toMatchObject({ status: 'disabled', disabled_reason: 'gone' });
    expect(await deliveriesOf(webhook.id).first()).toMatchObject({ state: 'failed', attempts: 1 });
    expect(receiver.at(hook.path)).toHaveLength(1);
    expect(warn).toHaveBeenCalledWith('webhook disabled', {
      event: 'webhook.disabled',
      webhookId: webhook.id,
      tenantId: tenant.tenantId,
      reason: 'gone',
    });
    // A disabled webhook gets nothing more.
    await endJob(tenant.tenantId);
    await stack.bus.drain();
    expect(await deliveriesOf(webhook.id)).toHaveLength(1);
  });

  it('fails a delivery for good on a 4xx other than 408 and 429, and a retry by hand gets it through', async () => {
    let answer = 400;
    const hook = receiver.route(() => ({ status: answer }));
    const webhook = await insertWebhook(env.db, { tenantId: tenant.tenantId, url: hook.url });
    hook.verifyWith(webhook.shown);
    await endJob(tenant.tenantId);
    const [delivery] = await until(() => finished(webhook.id), 'the delivery');
    expect(delivery).toMatchObject({ state: 'failed', attempts: 1 });
    expect(await webhookRow(webhook.id)).toMatchObject({ status: 'active', consecutive_failures: 1 });

    answer = 200;
    const res = await api(`/webhooks/${webhook.id}/deliveries/${delivery.id}/retry`, { method: 'POST' });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      delivery_id: delivery.id,
      event_id: delivery.event_id,
      status_code: 200,
      latency_ms: expect.any(Number),
      error: null,
      succeeded: true,
      state: 'succeeded',
      next_attempt_at: null,
    });
    const got = receiver.at(hook.path);
    expect(got).toHaveLength(2);
    expect(got[1]!.headers['webhook-id']).toBe(got[0]!.headers['webhook-id']);
    expect(await webhookRow(webhook.id)).toMatchObject({ consecutive_failures: 0 });
  });

  it('disables a dead receiver (connection refused) after the threshold of failed deliveries', async () => {
    warn.mockClear();
    const url = `http://127.0.0.1:${await freePort()}/hook`;
    const webhook = await insertWebhook(env.db, { tenantId: tenant.tenantId, url });
    await endJob(tenant.tenantId);
    await endJob(tenant.tenantId);
    const failed = await until(() => finished(webhook.id, 2), 'both deliveries to fail', 60_000);
    expect(failed.map((d) => [d.state, d.attempts])).toEqual([
      ['failed', 5],
      ['failed', 5],
    ]);
    const attempts = await attemptsOf(failed[0].id);
    expect(attempts.every((a) => a.status_code === null && /ECONNREFUSED/.test(a.error))).toBe(true);
    expect(await webhookRow(webhook.id)).toMatchObject({
      status: 'disabled',
      disabled_reason: 'failing',
      consecutive_failures: 2,
    });
    const disables = warn.mock.calls.filter(([m, f]) => m === 'webhook disabled' && f.webhookId === webhook.id);
    expect(disables).toEqual([
      [
        'webhook disabled',
        { event: 'webhook.disabled', webhookId: webhook.id, tenantId: tenant.tenantId, reason: 'failing' },
      ],
    ]);
  }, 90_000);
});

describe('isolation of receivers', () => {
  it("delivers to a fast receiver while a slow one holds its delivery, and the slow one's next waits its turn", async () => {
    const slowHook = receiver.route(() => 'hold');
    const fastHook = receiver.route(() => ({ status: 200 }));
    const slow = await insertWebhook(env.db, { tenantId: other.tenantId, url: slowHook.url });
    const fast = await insertWebhook(env.db, { tenantId: other.tenantId, url: fastHook.url });
    slowHook.verifyWith(slow.shown);
    fastHook.verifyWith(fast.shown);
    await endJob(other.tenantId);
    await endJob(other.tenantId);

    // Both fast deliveries arrive while the slow receiver still holds its first request open...
    await until(() => receiver.at(fastHook.path).length === 2, 'the fast deliveries');
    await until(() => receiver.holding === 1, 'the slow request');
    expect(receiver.at(slowHook.path)).toHaveLength(1);
    // The receiver has answered; the deliverer records the outcome a moment later.
    expect(await until(() => finished(fast.id, 2), 'the fast deliveries recorded')).toHaveLength(2);
    // ...and one slot per webhook: the slow webhook's second delivery waits, unsent, for the first.
    expect(await deliveriesOf(slow.id).whereNotNull('lease_owner')).toHaveLength(1);
    expect(await deliveriesOf(slow.id).where({ state: 'pending' })).toHaveLength(2);

    receiver.release(200);
    await until(() => receiver.at(slowHook.path).length === 2 && receiver.holding === 1, 'the second slow delivery');
    receiver.release(200);
    const done = await until(() => finished(slow.id, 2), 'the slow deliveries');
    expect(done.map((d) => d.state)).toEqual(['succeeded', 'succeeded']);
  });
});

describe('the test and deliveries endpoints', () => {
  it('POST /webhooks/{id}/test sends a webhook.test event now and answers with the attempt', async () => {
    let answer = 200;
    const hook = receiver.route(() => ({ status: answer }));
    const webhook = await insertWebhook(env.db, { tenantId: tenant.tenantId, url: hook.url, signing: 'ed25519' });
    hook.verifyWith(webhook.shown);
    const res = await api(`/webhooks/${webhook.id}/test`, { method: 'POST' });
    expect(res.status).toBe(200);
    const outcome = (await res.json()) as Record<string, any>;
    expect(outcome).toEqual({
      delivery_id: expect.any(String),
      event_id: expect.stringMatching(/^evt_[0-9a-f]{32}$/),
      status_code: 200,
      latency_ms: expect.any(Number),
      error: null,
      succeeded: true,
      state: 'succeeded',
      next_attempt_at: null,
    });
    const [got] = receiver.at(hook.path);
    expect(got!.headers['webhook-id']).toBe(outcome.event_id);
    expect(got!.json).toMatchObject({ type: 'webhook.test', data: { webhook_id: webhook.id } });

    // A failing receiver: the outcome says so, and a test never counts against the webhook.
    answer = 500;
    const failed = (await (await api(`/webhooks/${webhook.id}/test`, { method: 'POST' })).json()) as Record<
      string,
      any
    >;
    expect(failed).toMatchObject({ status_code: 500, error: 'HTTP 500', succeeded: false, state: 'failed' });
    expect(await webhookRow(webhook.id)).toMatchObject({ status: 'active', consecutive_failures: 0 });
    await stack.bus.drain();
    expect(receiver.at(hook.path)).toHaveLength(2);
  });

  it('GET /webhooks/{id}/deliveries pages newest first, filters by state, and shows every attempt', async () => {
    const hook = receiver.route((_r, n) => ({ status: n % 2 === 0 ? 500 : 200 }));
    const webhook = await insertWebhook(env.db, { tenantId: tenant.tenantId, url: hook.url });
    hook.verifyWith(webhook.shown);
    const sent: string[] = [];
    for (let i = 0; i < 5; i++) {
      sent.push(((await (await api(`/webhooks/${webhook.id}/test`, { method: 'POST' })).json()) as any).delivery_id);
    }
    const seen: any[] = [];
    let cursor: string | null = null;
    do {
      const res = await api(`/webhooks/${webhook.id}/deliveries?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(res.status).toBe(200);
      const page = (await res.json()) as { data: any[]; next_cursor: string | null };
      expect(page.data.length).toBeLessThanOrEqual(2);
      seen.push(...page.data);
      cursor = page.next_cursor;
    } while (cursor);
    expect(seen.map((d) => d.delivery_id)).toEqual([...sent].reverse());
    expect(seen[0]).toEqual({
      delivery_id: sent[4],
      event_id: expect.stringMatching(/^evt_/),
      event_type: 'webhook.test',
      state: 'succeeded',
      next_attempt_at: null,
      created_at: expect.any(String),
      updated_at: expect.any(String),
      attempts: [{ attempted_at: expect.any(String), status_code: 200, latency_ms: expect.any(Number), error: null }],
    });
    const failed = (await (await api(`/webhooks/${webhook.id}/deliveries?state=failed`)).json()) as { data: any[] };
    expect(failed.data.map((d) => d.delivery_id)).toEqual([sent[3], sent[1]]);
    expect(failed.data[0].attempts).toEqual([expect.objectContaining({ status_code: 500, error: 'HTTP 500' })]);

    for (const query of ['limit=0', 'limit=101', 'limit=x', 'state=done', 'cursor=nonsense']) {
      const res = await api(`/webhooks/${webhook.id}/deliveries?${query}`);
      expect({ query, status: res.status }).toEqual({ query, status: 422 });
    }
  });

  it("shows a pending delivery's next attempt", async () => {
    const hook = receiver.route(() => ({ status: 503, headers: { 'Retry-After': '600' } }));
    const webhook = await insertWebhook(env.db, { tenantId: tenant.tenantId, url: hook.url });
    await endJob(tenant.tenantId);
    await until(async () => (await deliveriesOf(webhook.id).first())?.attempts === 1, 'the first attempt');
    const [d] = ((await (await api(`/webhooks/${webhook.id}/deliveries`)).json()) as { data: any[] }).data;
    expect(d).toMatchObject({ event_type: 'job.completed', state: 'pending', attempts: [{ status_code: 503 }] });
    // Retry-After (600 s) over the schedule's second.
    expect(new Date(d.next_attempt_at).getTime() - Date.now()).toBeGreaterThan(550_000);
  });

  it("answers 404 for another tenant's webhook or delivery, and 401 without a key", async () => {
    const hook = receiver.route(() => ({ status: 200 }));
    const mine = await insertWebhook(env.db, { tenantId: tenant.tenantId, url: hook.url });
    const theirs = await insertWebhook(env.db, { tenantId: other.tenantId, url: hook.url });
    const delivery = ((await (await api(`/webhooks/${mine.id}/test`, { method: 'POST' })).json()) as any).delivery_id;
    const asOther = { key: other.key };
    const cases: [string, string, RequestInit & { key?: string }][] = [
      ['POST', `/webhooks/${mine.id}/test`, asOther],
      ['GET', `/webhooks/${mine.id}/deliveries`, asOther],
      ['POST', `/webhooks/${mine.id}/deliveries/${delivery}/retry`, asOther],
      // My delivery under their webhook, and under their key.
      ['POST', `/webhooks/${theirs.id}/deliveries/${delivery}/retry`, asOther],
      ['POST', `/webhooks/${mine.id}/deliveries/${randomUUID()}/retry`, {}],
      ['GET', `/webhooks/not-a-uuid/deliveries`, {}],
    ];
    for (const [method, path, init] of cases) {
      const res = await api(path, { ...init, method });
      expect({ method, path, status: res.status }).toEqual({ method, path, status: 404 });
      expect(((await res.json()) as { code: string }).code).toBe('not_found');
    }
    expect(receiver.at(hook.path)).toHaveLength(1);
    const anonymous = await fetch(`${stack.url}/webhooks/${mine.id}/deliveries`);
    expect(anonymous.status).toBe(401);
  });
});

describe('the outbound POST', () => {
  let server: Server;
  let port: number;
  const hits: { host?: string; path?: string }[] = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      hits.push({ host: req.headers.host, path: req.url });
      if (req.url === '/moved') res.writeHead(302, { Location: '/elsewhere' }).end();
      else res.writeHead(200).end('ok');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  const opts = { timeoutMs: 2000, allowPrivate: false, headers: {} };
  const loopbackAsPublic = {
    resolve: async () => [{ address: '127.0.0.1', family: 4 }],
    checkAddress: () => undefined,
  };

  it('does not follow a redirect: a 3xx is the answer', async () => {
    const res = await postWithPolicy(
      `http://hooks.example.com:${port}/moved`,
      '{}',
      { ...opts, allowPrivate: true },
      loopbackAsPublic,
    );
    expect(res.status).toBe(302);
    expect(hits.map((h) => h.path)).not.toContain('/elsewhere');
  });

  it('connects to the checked address while naming the host', async () => {
    await postWithPolicy(`http://hooks.example.com:${port}/x`, '{}', { ...opts, allowPrivate: true }, loopbackAsPublic);
    expect(hits.at(-1)).toEqual({ host: `hooks.example.com:${port}`, path: '/x' });
  });

  it('refuses plain http and private addresses unless private URLs are allowed', async () => {
    await expect(
      postWithPolicy(`http://hooks.example.com:${port}/x`, '{}', opts, loopbackAsPublic),
    ).rejects.toMatchObject({
      code: 'url_forbidden',
    });
    const privateAnswer = {
      resolve: async () => [{ address: '10.0.0.5', family: 4 }],
      checkAddress: (ip: string) => {
        throw new FetchError('url_forbidden', `${ip} is not public`);
      },
    };
    await expect(postWithPolicy('https://hooks.example.com/x', '{}', opts, privateAnswer)).rejects.toMatchObject({
      code: 'url_forbidden',
      message: expect.not.stringContaining('10.0.0.5'),
    });
  });
});
