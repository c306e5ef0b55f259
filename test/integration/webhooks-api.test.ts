/**
 * The webhook management endpoints over real HTTP, through the local gateway and each function's
 * own functions-framework stack, against a real PostgreSQL: every endpoint's contract and errors,
 * the URL policy, the tier caps, tenant isolation, the signing key shown once and stored sealed,
 * rotation, and keyset pagination. Rows that only delivery would write (a disabled webhook, a
 * delivery) are written straight into the database.
 */
import { createPublicKey, randomUUID, verify } from 'node:crypto';
import type { LookupAddress } from 'node:dns';
import { Webhook } from 'standardwebhooks';
import { loadFunction } from '../../functions';
import { resetConfig } from '../../shared/config';
import { open } from '../../shared/crypto/envelope';
import { startStack, Stack } from '../../shared/local/stack';
import { keyEncryptionKey } from '../../shared/platform';
import { liveKeys, ROTATION_OVERLAP_SECONDS, sealKey, type WebhookRow } from '../../shared/webhooks/keys';
import { checkWebhookHost, WEBHOOK_LIMITS } from '../../shared/webhooks/registry';
import { newSigningKey, shownKey, webhookHeaders } from '../../shared/webhooks/signing';
import { closeTestEnv, newTenantKey, TestEnv, useTestEnv } from '../support/database';

let env: TestEnv;
let stack: Stack;
let key: string;

/** Allowed while AIPROD_ALLOW_PRIVATE_URLS=1 (the test default): a loopback https URL, its query kept. */
const HOOK = 'https://127.0.0.1:8443/aiprod/hooks?token=t0k3n';
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const MISSING = '00000000-0000-4000-8000-000000000000';

async function call(
  method: string,
  path: string,
  opts: { key?: string | null; json?: unknown; raw?: string; headers?: Record<string, string> } = {},
) {
  const headers: Record<string, string> = { ...opts.headers };
  const k = opts.key === undefined ? key : opts.key;
  if (k) headers.authorization = `Bearer ${k}`;
  let payload: string | undefined = opts.raw;
  if (opts.json !== undefined) payload = JSON.stringify(opts.json);
  if (payload !== undefined) headers['content-type'] ??= 'application/json';
  const res = await fetch(`${stack.url}${path}`, { method, headers, body: payload });
  const text = await res.text();
  let parsed: Record<string, unknown> = {};
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = { text };
  }
  return { status: res.status, headers: res.headers, text, body: parsed as Record<string, any> };
}

const create = (json: unknown, k: string | null = key) => call('POST', '/webhooks', { key: k, json });
const hook = (extra: Record<string, unknown> = {}) => ({ url: HOOK, events: ['job.completed'], ...extra });

/** A created webhook's id and shown key, failing loudly otherwise. */
async function created(extra: Record<string, unknown> = {}, k: string = key): Promise<{ id: string; secret: string }> {
  const r = await create(hook(extra), k);
  if (r.status !== 201) throw new Error(`POST /webhooks answered ${r.status}: ${r.text}`);
  return { id: r.body.id, secret: r.body.secret };
}

const row = (id: string): Promise<WebhookRow> => env.db<WebhookRow>('webhooks').where({ id }).first() as any;

/** The raw key material of the webhook's live keys, opened with the platform's key-encryption key. */
const liveShown = async (id: string): Promise<string[]> =>
  (await liveKeys(keyEncryptionKey(), await row(id))).map((k) => shownKey(k));

/** AIPROD_ALLOW_PRIVATE_URLS for what follows (the stack reads its configuration afresh). */
function allowPrivate(on: boolean): void {
  process.env.AIPROD_ALLOW_PRIVATE_URLS = on ? '1' : '0';
  resetConfig();
}

const body = JSON.stringify({ type: 'job.completed', timestamp: new Date().toISOString(), data: { job_id: 'j1' } });
const now = (): number => Math.floor(Date.now() / 1000);

/** Rows as the table holds them, written directly (sealed with a throwaway key: never opened). */
async function insertRows(tenantId: string, n: number, createdAt?: string): Promise<string[]> {
  const kek = keyEncryptionKey();
  const rows = await Promise.all(
    Array.from({ length: n }, async () => {
      const id = randomUUID();
      return {
        id,
        tenant_id: tenantId,
        url: HOOK,
        events: ['job.failed'],
        signing: 'hmac',
        secret: await sealKey(kek, id, newSigningKey('hmac').key),
        ...(createdAt ? { created_at: createdAt, updated_at: createdAt } : {}),
      };
    }),
  );
  await env.db('webhooks').insert(rows);
  return rows.map((r) => r.id);
}

beforeAll(async () => {
  env = await useTestEnv({ AIPROD_LOCAL_WORKERS: '0' });
  stack = await startStack({ loadFunction, port: 0, dataDir: env.dataDir, maintenanceSeconds: 0 });
  // Enterprise: the cases below register more webhooks than pro's cap allows.
  key = (await newTenantKey(env.db, 'enterprise')).key;
});

afterAll(async () => {
  await stack.stop();
  await closeTestEnv();
});

describe('POST /webhooks', () => {
  it('answers 201 with the view, Location, no-store, and the hmac secret shown once', async () => {
    const r = await create(hook({ events: ['job.completed', 'job.failed'] }));
    expect(r.status).toBe(201);
    expect(r.body).toEqual({
      id: expect.stringMatching(UUID),
      url: HOOK,
      events: ['job.completed', 'job.failed'],
      signing: 'hmac',
      status: 'active',
      consecutive_failures: 0,
      created_at: expect.stringMatching(ISO),
      updated_at: expect.stringMatching(ISO),
      secret: expect.stringMatching(/^whsec_[A-Za-z0-9+/]{43}=$/),
    });
    expect(Buffer.from(r.body.secret.slice('whsec_'.length), 'base64')).toHaveLength(32);
    expect(r.headers.get('location')).toBe(`/webhooks/${r.body.id}`);
    expect(r.headers.get('cache-control')).toBe('no-store');
    // Never again: not in the webhook's view, not in the list.
    const got = await call('GET', `/webhooks/${r.body.id}`);
    expect(got.status).toBe(200);
    expect(got.text).not.toContain(r.body.secret.slice('whsec_'.length));
    expect(Object.keys(got.body)).not.toContain('secret');
    expect((await call('GET', '/webhooks?limit=100')).text).not.toContain(r.body.secret.slice('whsec_'.length));
  });

  it('stores the key sealed: nowhere in the row in the clear, and it opens with the platform KEK to the key shown', async () => {
    const { id, secret } = await created();
    const stored = await row(id);
    const raw = Buffer.from(secret.slice('whsec_'.length), 'base64');
    const text = JSON.stringify(stored);
    for (const form of [secret, raw.toString('base64'), raw.toString('base64url'), raw.toString('hex')])
      expect(text).not.toContain(form);
    expect(stored.secret).toEqual({
      ciphertext: expect.any(String),
      data_key: expect.any(String),
      key_version: await keyEncryptionKey().currentVersion(),
    });
    expect(stored.previous_secret).toBeNull();
    expect((await open(keyEncryptionKey(), stored.secret, `webhooks:${id}`)).equals(raw)).toBe(true);
    // Bound to its row: the same sealed value does not open as another webhook's.
    await expect(open(keyEncryptionKey(), stored.secret, `webhooks:${randomUUID()}`)).rejects.toThrow();
    // What delivery signs with verifies, with the standardwebhooks library, against the secret shown.
    const keys = await liveKeys(keyEncryptionKey(), stored);
    expect(keys.map(shownKey)).toEqual([secret]);
    const ts = now();
    expect(new Webhook(secret).verify(body, webhookHeaders(keys, 'msg_1', ts, body))).toEqual(JSON.parse(body));
  });

  it('with signing ed25519 shows the public key whpk_ only; the private key stays sealed', async () => {
    const r = await create(hook({ signing: 'ed25519', events: ['webhook.test'] }));
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ signing: 'ed25519', events: ['webhook.test'] });
    expect(r.body.secret).toMatch(/^whpk_[A-Za-z0-9+/]{43}=$/);
    const stored = await row(r.body.id);
    const [privateKey] = await liveKeys(keyEncryptionKey(), stored);
    expect(privateKey!.scheme).toBe('ed25519');
    for (const form of [privateKey!.secret.toString('base64'), privateKey!.secret.subarray(-32).toString('base64')]) {
      expect(r.text).not.toContain(form);
      expect(JSON.stringify(stored)).not.toContain(form);
    }
    expect(shownKey(privateKey!)).toBe(r.body.secret);
    // A receiver verifies with the public key as shown.
    const ts = now();
    const signature = webhookHeaders([privateKey!], 'msg_2', ts, body)['webhook-signature'];
    const [version, sig] = signature.split(',');
    expect(version).toBe('v1a');
    const x = Buffer.from(r.body.secret.slice('whpk_'.length), 'base64').toString('base64url');
    const publicKey = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x }, format: 'jwk' });
    expect(verify(null, Buffer.from(`msg_2.${ts}.${body}`), publicKey, Buffer.from(sig!, 'base64'))).toBe(true);
  });

  it('stores the URL as the URL parser writes it', async () => {
    const r = await create(hook({ url: '  https://LOCALHOST:443/Hooks/../In  ' }));
    expect(r.status).toBe(201);
    expect(r.body.url).toBe('https://localhost/In');
  });

  it.each<[string, unknown, string, string]>([
    ['url missing', { events: ['job.completed'] }, 'url', 'required'],
    ['events missing', { url: HOOK }, 'events', 'required'],
    ['url not a string', hook({ url: 42 }), 'url', 'invalid_type'],
    ['url empty', hook({ url: '  ' }), 'url', 'too_short'],
    ['url over 2048 characters', hook({ url: `https://example.com/${'a'.repeat(2030)}` }), 'url', 'too_long'],
    ['url not a URL', hook({ url: 'hooks.example.com/in' }), 'url', 'invalid_url'],
    ['url with credentials', hook({ url: 'https://alice:pw@127.0.0.1/in' }), 'url', 'invalid_url'],
    ['url of another scheme', hook({ url: 'ftp://127.0.0.1/in' }), 'url', 'https_required'],
    ['url to the metadata server', hook({ url: 'https://metadata.google.internal/x' }), 'url', 'url_forbidden'],
    ['url to an internal name', hook({ url: 'https://db.internal/x' }), 'url', 'url_forbidden'],
    ['events empty', hook({ events: [] }), 'events', 'too_short'],
    ['events not an array', hook({ events: 'job.completed' }), 'events', 'invalid_type'],
    ['an unknown event', hook({ events: ['job.completed', 'job.started'] }), 'events.1', 'unsupported_value'],
    ['an event twice', hook({ events: ['job.failed', 'job.failed'] }), 'events', 'duplicate_value'],
    ['an unknown scheme', hook({ signing: 'rsa' }), 'signing', 'unsupported_value'],
    ['an unknown field', hook({ secret: 'whsec_mine' }), 'secret', 'unknown_field'],
  ])('answers 422 validation_failed for %s', async (_what, json, field, code) => {
    const r = await create(json);
    expect(r.status).toBe(422);
    expect(r.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(r.body).toMatchObject({ status: 422, code: 'validation_failed', instance: '/webhooks' });
    expect(r.body.errors).toEqual([{ field, code, message: expect.any(String) }]);
  });

  it('reports every bad field at once', async () => {
    const r = await create({ url: 'http://', events: [], signing: 'x' });
    expect(r.status).toBe(422);
    expect(r.body.errors.map((e: { field: string }) => e.field).sort()).toEqual(['events', 'signing', 'url']);
  });

  it('answers 400 for a body that is not an object, 415 for one that is not JSON, 401 without a key', async () => {
    expect((await create([hook()])).body).toMatchObject({ status: 400, code: 'invalid_json' });
    const text = await call('POST', '/webhooks', { raw: 'url=x', headers: { 'content-type': 'text/plain' } });
    expect(text.body).toMatchObject({ status: 415, code: 'unsupported_media_type' });
    const anonymous = await create(hook(), null);
    expect(anonymous.body).toMatchObject({ status: 401, code: 'unauthorized' });
  });

  it('answers 403 webhooks_not_in_tier to a free tenant, whatever it sends, and stores nothing', async () => {
    const free = await newTenantKey(env.db, 'free');
    for (const json of [hook(), {}]) {
      const r = await create(json, free.key);
      expect(r.status).toBe(403);
      expect(r.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(r.body).toMatchObject({ status: 403, code: 'webhooks_not_in_tier', title: 'Forbidden' });
    }
    expect(await env.db('webhooks').where({ tenant_id: free.tenantId })).toHaveLength(0);
  });

  it('caps pro at 10 webhooks, disabled ones included: 409 webhook_limit_reached, room again after a delete', async () => {
    expect(WEBHOOK_LIMITS).toEqual({ free: 0, pro: 10, enterprise: 100 });
    const pro = await newTenantKey(env.db, 'pro');
    const ids: string[] = [];
    for (let i = 0; i < 10; i += 1) ids.push((await created({}, pro.key)).id);
    await env.db('webhooks').where({ id: ids[0] }).update({ status: 'disabled', disabled_reason: 'failures' });
    const over = await create(hook(), pro.key);
    expect(over.status).toBe(409);
    expect(over.body).toMatchObject({ status: 409, code: 'webhook_limit_reached' });
    expect(await env.db('webhooks').where({ tenant_id: pro.tenantId })).toHaveLength(10);
    expect((await call('DELETE', `/webhooks/${ids[0]}`, { key: pro.key })).status).toBe(204);
    expect((await create(hook(), pro.key)).status).toBe(201);
  });

  it('keeps the cap under a burst of concurrent registrations', async () => {
    const pro = await newTenantKey(env.db, 'pro');
    await insertRows(pro.tenantId, 7);
    const answers = await Promise.all(Array.from({ length: 6 }, () => create(hook(), pro.key)));
    expect(answers.map((a) => a.status).sort()).toEqual([201, 201, 201, 409, 409, 409]);
    expect(await env.db('webhooks').where({ tenant_id: pro.tenantId })).toHaveLength(10);
  });

  it('caps enterprise at 100', async () => {
    const enterprise = await newTenantKey(env.db, 'enterprise');
    await insertRows(enterprise.tenantId, 99);
    expect((await create(hook(), enterprise.key)).status).toBe(201);
    expect((await create(hook(), enterprise.key)).body).toMatchObject({ status: 409, code: 'webhook_limit_reached' });
  });

  describe('without AIPROD_ALLOW_PRIVATE_URLS', () => {
    beforeAll(() => allowPrivate(false));
    afterAll(() => allowPrivate(true));

    it('refuses http', async () => {
      const r = await create(hook({ url: 'http://1.1.1.1/hooks' }));
      expect(r.status).toBe(422);
      expect(r.body.errors).toEqual([expect.objectContaining({ field: 'url', code: 'https_required' })]);
    });

    it.each([
      'https://127.0.0.1/hooks',
      'https://0x7f.1/hooks',
      'https://10.1.2.3/hooks',
      'https://192.168.0.10:8443/hooks',
      'https://169.254.169.254/latest/meta-data',
      'https://[::1]/hooks',
      'https://[::ffff:10.0.0.1]/hooks',
      'https://[fd00::1]/hooks',
      // A name is resolved at registration, and judged by its addresses.
      'https://localhost/hooks',
    ])('refuses %s: url_forbidden', async (url) => {
      const r = await create(hook({ url }));
      expect(r.status).toBe(422);
      expect(r.body.code).toBe('validation_failed');
      expect(r.body.errors).toEqual([expect.objectContaining({ field: 'url', code: 'url_forbidden' })]);
    });

    it('accepts a public https address', async () => {
      const r = await create(hook({ url: 'https://1.1.1.1/hooks' }));
      expect(r.status).toBe(201);
      expect(r.body.url).toBe('https://1.1.1.1/hooks');
    });
  });

  it('with AIPROD_ALLOW_PRIVATE_URLS=1 accepts http and loopback, never an internal name', async () => {
    expect((await create(hook({ url: 'http://127.0.0.1:9/hooks' }))).status).toBe(201);
    expect((await create(hook({ url: 'https://localhost/hooks' }))).status).toBe(201);
    const internal = await create(hook({ url: 'http://metadata/computeMetadata/v1' }));
    expect(internal.body.errors).toEqual([expect.objectContaining({ field: 'url', code: 'url_forbidden' })]);
  });
});

describe("the URL host's resolution at registration", () => {
  const resolver =
    (answers: Record<string, string[] | Error>) =>
    async (host: string): Promise<LookupAddress[]> => {
      const a = answers[host];
      if (a === undefined || a instanceof Error) throw a ?? Object.assign(new Error('nx'), { code: 'ENOTFOUND' });
      return a.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
    };
  const check = (url: string, answers: Record<string, string[] | Error>, allow = false) =>
    checkWebhookHost(url, { allowPrivate: allow, resolve: resolver(answers) }).then(
      () => null,
      (err: { errors?: { field: string; code: string }[] }) => err.errors,
    );

  it('passes a host whose every address is public', async () => {
    const answers = { 'hooks.partner.example': ['8.8.8.8', '2606:4700::1'] };
    expect(await check('https://hooks.partner.example/in', answers)).toBeNull();
  });

  it.each([
    ['a private address', ['10.0.0.7']],
    ['one private address among public ones', ['8.8.8.8', '192.168.1.1']],
    ['the metadata server', ['169.254.169.254']],
    ['an IPv4-mapped loopback', ['::ffff:127.0.0.1']],
  ])('refuses a host with %s: url_forbidden, naming the host only', async (_what, addresses) => {
    const errors = await check('https://hooks.partner.example/in', { 'hooks.partner.example': addresses });
    expect(errors).toEqual([expect.objectContaining({ field: 'url', code: 'url_forbidden' })]);
    expect(JSON.stringify(errors)).not.toContain(addresses[addresses.length - 1]);
  });

  it('refuses a host that does not resolve, or has no address: url_unresolvable', async () => {
    expect(await check('https://nowhere.partner.example/', {})).toEqual([
      expect.objectContaining({ field: 'url', code: 'url_unresolvable' }),
    ]);
    expect(await check('https://empty.partner.example/', { 'empty.partner.example': [] })).toEqual([
      expect.objectContaining({ code: 'url_unresolvable' }),
    ]);
  });

  it('stops waiting for a resolver that does not answer: url_unresolvable within 5 s', async () => {
    const started = Date.now();
    const errors = await checkWebhookHost('https://slow.partner.example/', {
      allowPrivate: false,
      resolve: () => new Promise<LookupAddress[]>(() => undefined),
    }).then(
      () => null,
      (err: { errors?: unknown }) => err.errors,
    );
    expect(errors).toEqual([expect.objectContaining({ field: 'url', code: 'url_unresolvable' })]);
    expect(Date.now() - started).toBeLessThan(7000);
  });

  it('lifts only the address check when private addresses are allowed', async () => {
    expect(await check('https://dev.partner.example/', { 'dev.partner.example': ['10.0.0.7'] }, true)).toBeNull();
    expect(await check('https://nowhere.partner.example/', {}, true)).toEqual([
      expect.objectContaining({ code: 'url_unresolvable' }),
    ]);
  });
});

describe('GET /webhooks', () => {
  let tenant: { key: string; tenantId: string };
  /** Every id in the order the index keeps them: newest first, id descending among equals. */
  let expected: string[];

  beforeAll(async () => {
    tenant = await newTenantKey(env.db, 'enterprise');
    // Nine through the API, twelve older ones that share one created_at (ties broken by id), four newer.
    for (let i = 0; i < 9; i += 1) await created({}, tenant.key);
    await insertRows(tenant.tenantId, 12, new Date(Date.now() - 60_000).toISOString());
    await insertRows(tenant.tenantId, 4);
    expected = (
      await env
        .db('webhooks')
        .where({ tenant_id: tenant.tenantId })
        .orderBy([
          { column: 'created_at', order: 'desc' },
          { column: 'id', order: 'desc' },
        ])
        .select('id')
    ).map((r: { id: string }) => r.id);
    expect(expected).toHaveLength(25);
  });

  async function walk(limit: number, k = tenant.key): Promise<{ pages: string[][]; cursors: (string | null)[] }> {
    const pages: string[][] = [];
    const cursors: (string | null)[] = [];
    let cursor: string | null = null;
    do {
      const query: string = `?limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`;
      const r = await call('GET', `/webhooks${query}`, { key: k });
      expect(r.status).toBe(200);
      pages.push(r.body.data.map((w: { id: string }) => w.id));
      cursor = r.body.next_cursor;
      cursors.push(cursor);
    } while (cursor && pages.length < 50);
    return { pages, cursors };
  }

  it('walks every webhook once, newest first, ties broken by id, next_cursor null on the last page', async () => {
    const { pages, cursors } = await walk(7);
    expect(pages.map((p) => p.length)).toEqual([7, 7, 7, 4]);
    expect(pages.flat()).toEqual(expected);
    expect(cursors[cursors.length - 1]).toBeNull();
    for (const c of cursors.slice(0, -1)) expect(c).toMatch(/^[A-Za-z0-9_-]+$/);
  });

  it('ends with next_cursor null, not an empty page, when the last page is full', async () => {
    const { pages } = await walk(5);
    expect(pages.map((p) => p.length)).toEqual([5, 5, 5, 5, 5]);
    expect(pages.flat()).toEqual(expected);
  });

  it('is stable: webhooks created or deleted during a walk shift nothing already under way', async () => {
    const first = await call('GET', '/webhooks?limit=10', { key: tenant.key });
    expect(first.body.data.map((w: { id: string }) => w.id)).toEqual(expected.slice(0, 10));
    const newer = await created({}, tenant.key);
    // The webhook the cursor names itself is gone: the cursor still marks the place.
    await env.db('webhooks').where({ id: expected[9] }).delete();
    const second = await call('GET', `/webhooks?limit=10&cursor=${first.body.next_cursor}`, { key: tenant.key });
    expect(second.body.data.map((w: { id: string }) => w.id)).toEqual(expected.slice(10, 20));
    const top = await call('GET', '/webhooks?limit=1', { key: tenant.key });
    expect(top.body.data[0].id).toBe(newer.id);
    await env.db('webhooks').where({ id: newer.id }).delete();
    expected.splice(9, 1);
  });

  it('pages 20 by default and at most 100, each item the webhook view', async () => {
    const page = await call('GET', '/webhooks', { key: tenant.key });
    expect(page.body.data).toHaveLength(20);
    expect(page.body.next_cursor).toEqual(expect.any(String));
    expect(page.headers.get('cache-control')).toBe('no-store');
    expect(Object.keys(page.body.data[0]).sort()).toEqual(
      ['consecutive_failures', 'created_at', 'events', 'id', 'signing', 'status', 'updated_at', 'url'].sort(),
    );
    const all = await call('GET', '/webhooks?limit=100', { key: tenant.key });
    expect(all.body.data.map((w: { id: string }) => w.id)).toEqual(expected);
    expect(all.body.next_cursor).toBeNull();
  });

  it('shows a tenant only its own webhooks, and an empty list when it has none', async () => {
    const other = await newTenantKey(env.db, 'pro');
    expect((await call('GET', '/webhooks', { key: other.key })).body).toEqual({ data: [], next_cursor: null });
    const own = await created({}, other.key);
    const mine = await call('GET', '/webhooks', { key: other.key });
    expect(mine.body.data.map((w: { id: string }) => w.id)).toEqual([own.id]);
    // Another tenant's cursor only says where to start: it reads nothing of that tenant.
    const theirs = (await call('GET', '/webhooks?limit=1', { key: tenant.key })).body.next_cursor;
    const crossed = await call('GET', `/webhooks?cursor=${theirs}`, { key: other.key });
    expect(crossed.status).toBe(200);
    for (const w of crossed.body.data) expect(expected).not.toContain(w.id);
  });

  const cursorOf = (text: string): string => Buffer.from(text).toString('base64url');
  it.each<[string, string, string, string]>([
    ['limit 0', 'limit=0', 'limit', 'out_of_range'],
    ['limit 101', 'limit=101', 'limit', 'out_of_range'],
    ['a limit that is not a number', 'limit=abc', 'limit', 'out_of_range'],
    ['a fractional limit', 'limit=1.5', 'limit', 'out_of_range'],
    ['a negative limit', 'limit=-1', 'limit', 'out_of_range'],
    ['limit given twice', 'limit=1&limit=2', 'limit', 'invalid_type'],
    ['a cursor that is not base64url', 'cursor=not%20a%20cursor', 'cursor', 'invalid_cursor'],
    ['an empty cursor', 'cursor=', 'cursor', 'invalid_cursor'],
    [
      'a cursor of a day that does not exist',
      `cursor=${cursorOf(`2024-02-31T00:00:00.000000Z|${MISSING}`)}`,
      'cursor',
      'invalid_cursor',
    ],
    ['a cursor without an id', `cursor=${cursorOf('2024-02-01T00:00:00.000000Z|x')}`, 'cursor', 'invalid_cursor'],
    ['an unknown parameter', 'page=2', 'page', 'unknown_field'],
  ])('answers 422 validation_failed for %s', async (_what, query, field, code) => {
    const r = await call('GET', `/webhooks?${query}`, { key: tenant.key });
    expect(r.status).toBe(422);
    expect(r.body).toMatchObject({ code: 'validation_failed' });
    expect(r.body.errors).toEqual([expect.objectContaining({ field, code })]);
  });

  it('answers 401 without a key', async () => {
    expect((await call('GET', '/webhooks', { key: null })).status).toBe(401);
  });
});

describe('GET /webhooks/{id}', () => {
  it('answers the view, never the secret', async () => {
    const { id, secret } = await created({ events: ['batch.completed'] });
    const r = await call('GET', `/webhooks/${id}`);
    expect(r.status).toBe(200);
    expect(r.headers.get('cache-control')).toBe('no-store');
    const stored = await row(id);
    expect(r.body).toEqual({
      id,
      url: HOOK,
      events: ['batch.completed'],
      signing: 'hmac',
      status: 'active',
      consecutive_failures: 0,
      created_at: stored.created_at.toISOString(),
      updated_at: stored.updated_at.toISOString(),
    });
    expect(r.text).not.toContain(secret.slice('whsec_'.length));
  });

  it('shows a disabled webhook with why and since when, and its failures', async () => {
    const { id } = await created();
    const at = new Date('2026-01-02T03:04:05.678Z');
    await env
      .db('webhooks')
      .where({ id })
      .update({ status: 'disabled', disabled_reason: 'too_many_failures', disabled_at: at, consecutive_failures: 12 });
    const r = await call('GET', `/webhooks/${id}`);
    expect(r.body).toMatchObject({
      status: 'disabled',
      disabled: { reason: 'too_many_failures', at: at.toISOString() },
      consecutive_failures: 12,
    });
  });

  it.each([MISSING, 'not-a-uuid'])('answers 404 problem+json for %s', async (id) => {
    const r = await call('GET', `/webhooks/${id}`);
    expect(r.status).toBe(404);
    expect(r.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(r.body).toMatchObject({ status: 404, code: 'not_found', detail: 'No such webhook.' });
  });

  it('routes each method of a shared path to its function, and answers 405 with every method of the path', async () => {
    const { id } = await created();
    const patch = await call('PATCH', `/webhooks/${id}`, { json: {} });
    expect(patch.status).toBe(405);
    expect(patch.headers.get('allow')).toBe('DELETE, GET');
    const put = await call('PUT', '/webhooks', { json: {} });
    expect(put.status).toBe(405);
    expect(put.headers.get('allow')).toBe('GET, POST');
    expect((await call('GET', `/webhooks/${id}/enable`)).headers.get('allow')).toBe('POST');
  });
});

describe('DELETE /webhooks/{id}', () => {
  it('answers 204 and removes the webhook with its deliveries; then 404', async () => {
    const { id } = await created();
    const tenantId = (await row(id)).tenant_id;
    await env.db('webhook_deliveries').insert({
      id: randomUUID(),
      webhook_id: id,
      tenant_id: tenantId,
      event_id: 'evt_1',
      event_type: 'job.completed',
      body,
    });
    const r = await call('DELETE', `/webhooks/${id}`);
    expect(r.status).toBe(204);
    expect(r.text).toBe('');
    expect(await row(id)).toBeUndefined();
    expect(await env.db('webhook_deliveries').where({ webhook_id: id })).toHaveLength(0);
    expect((await call('GET', `/webhooks/${id}`)).status).toBe(404);
    expect((await call('DELETE', `/webhooks/${id}`)).body).toMatchObject({ status: 404, code: 'not_found' });
    expect((await call('DELETE', '/webhooks/nope')).status).toBe(404);
  });
});

describe('POST /webhooks/{id}/enable', () => {
  it('makes a disabled webhook active again with its failures reset', async () => {
    const { id } = await created();
    await env
      .db('webhooks')
      .where({ id })
      .update({
        status: 'disabled',
        disabled_reason: 'too_many_failures',
        disabled_at: new Date(),
        consecutive_failures: 20,
        updated_at: new Date('2026-01-01T00:00:00Z'),
      });
    const r = await call('POST', `/webhooks/${id}/enable`);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ id, status: 'active', consecutive_failures: 0 });
    expect(r.body.disabled).toBeUndefined();
    expect(new Date(r.body.updated_at).getTime()).toBeGreaterThan(Date.parse('2026-01-01T00:00:00Z'));
    expect(await row(id)).toMatchObject({ status: 'active', disabled_reason: null, disabled_at: null });
    expect((await call('GET', `/webhooks/${id}`)).body).toEqual(r.body);
  });

  it('leaves an active webhook active, its failure count reset', async () => {
    const { id } = await created();
    await env.db('webhooks').where({ id }).update({ consecutive_failures: 3 });
    const r = await call('POST', `/webhooks/${id}/enable`);
    expect(r.body).toMatchObject({ status: 'active', consecutive_failures: 0 });
  });

  it('answers 404 for a missing webhook', async () => {
    expect((await call('POST', `/webhooks/${MISSING}/enable`)).body).toMatchObject({ status: 404, code: 'not_found' });
  });
});

describe('POST /webhooks/{id}/rotate-secret', () => {
  it('shows a new secret once; the old one stays live beside it for the overlap, and both verify', async () => {
    const { id, secret: first } = await created();
    const before = Date.now();
    const r = await call('POST', `/webhooks/${id}/rotate-secret`);
    expect(r.status).toBe(200);
    expect(r.headers.get('cache-control')).toBe('no-store');
    expect(r.body).toMatchObject({ id, signing: 'hmac', status: 'active', secret: expect.stringMatching(/^whsec_/) });
    const second = r.body.secret as string;
    expect(second).not.toBe(first);
    const expires = Date.parse(r.body.rotation.previous_expires_at);
    expect(expires).toBeGreaterThanOrEqual(before + ROTATION_OVERLAP_SECONDS * 1000 - 5000);
    expect(expires).toBeLessThanOrEqual(Date.now() + ROTATION_OVERLAP_SECONDS * 1000 + 5000);

    // Both sealed, both open with the platform KEK: the new key first, the previous one beside it.
    const stored = await row(id);
    expect(JSON.stringify(stored)).not.toContain(second.slice('whsec_'.length));
    expect(JSON.stringify(stored)).not.toContain(first.slice('whsec_'.length));
    expect(stored.previous_secret_expires_at!.getTime()).toBe(expires);
    expect(await liveShown(id)).toEqual([second, first]);
    const keys = await liveKeys(keyEncryptionKey(), stored);
    const headers = webhookHeaders(keys, 'msg_3', now(), body);
    for (const s of [first, second]) expect(new Webhook(s).verify(body, headers)).toBeTruthy();

    // The view shows the rotation, never a secret.
    const got = await call('GET', `/webhooks/${id}`);
    expect(got.body.rotation).toEqual({ previous_expires_at: r.body.rotation.previous_expires_at });
    expect(Object.keys(got.body)).not.toContain('secret');
    for (const s of [first, second]) expect(got.text).not.toContain(s.slice('whsec_'.length));
  });

  it('within the overlap, a second rotation replaces the previous key with the current one', async () => {
    const { id, secret: first } = await created();
    const second = (await call('POST', `/webhooks/${id}/rotate-secret`)).body.secret as string;
    const third = (await call('POST', `/webhooks/${id}/rotate-secret`)).body.secret as string;
    expect(await liveShown(id)).toEqual([third, second]);
    expect(new Set([first, second, third]).size).toBe(3);
  });

  it('keeps the scheme: an ed25519 webhook gets a new public key', async () => {
    const { id, secret: first } = await created({ signing: 'ed25519' });
    const r = await call('POST', `/webhooks/${id}/rotate-secret`);
    expect(r.body).toMatchObject({ signing: 'ed25519', secret: expect.stringMatching(/^whpk_/) });
    expect(await liveShown(id)).toEqual([r.body.secret, first]);
  });

  it('stops showing the rotation once the previous key has expired', async () => {
    const { id } = await created();
    const rotated = (await call('POST', `/webhooks/${id}/rotate-secret`)).body.secret;
    await env
      .db('webhooks')
      .where({ id })
      .update({ previous_secret_expires_at: new Date(Date.now() - 1000) });
    expect((await call('GET', `/webhooks/${id}`)).body.rotation).toBeUndefined();
    expect(await liveShown(id)).toEqual([rotated]);
  });

  it('answers 404 for a missing webhook', async () => {
    expect((await call('POST', `/webhooks/${MISSING}/rotate-secret`)).body).toMatchObject({
      status: 404,
      code: 'not_found',
    });
  });
});

describe('tenant isolation', () => {
  it("answers 404 on every endpoint for another tenant's webhook, as for a missing one, and changes nothing", async () => {
    const { id } = await created();
    await env.db('webhooks').where({ id }).update({ status: 'disabled', consecutive_failures: 4 });
    const before = await row(id);
    const other = await newTenantKey(env.db, 'enterprise');
    const missing = await call('GET', `/webhooks/${MISSING}`, { key: other.key });
    for (const [method, path] of [
      ['GET', `/webhooks/${id}`],
      ['DELETE', `/webhooks/${id}`],
      ['POST', `/webhooks/${id}/enable`],
      ['POST', `/webhooks/${id}/rotate-secret`],
    ] as const) {
      const r = await call(method, path, { key: other.key });
      expect({ method, status: r.status }).toEqual({ method, status: 404 });
      expect({ ...r.body, instance: undefined }).toEqual({ ...missing.body, instance: undefined });
    }
    expect(await row(id)).toEqual(before);
    const list = await call('GET', '/webhooks?limit=100', { key: other.key });
    expect(list.body.data.map((w: { id: string }) => w.id)).not.toContain(id);
  });
});
