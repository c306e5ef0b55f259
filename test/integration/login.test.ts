/**
 * POST /auth/login over real HTTP, through the local gateway and the function's own
 * functions-framework stack, against a real PostgreSQL, with Google's signing keys played by a
 * local JSON Web Key Set served over HTTP: the exchange, the token's hour (also through the
 * per-instance key cache), every kind of refused ID token, unknown users, the body's errors,
 * Google's keys unreachable, and the per-IP limit of anonymous callers.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type JWTPayload, type KeyLike } from 'jose';
import { loadFunction } from '../../functions';
import { issueUserToken, keyParts, verifyApiKey } from '../../shared/auth/api-keys';
import { LOGIN_TOKEN_TTL_SECONDS } from '../../shared/auth/login';
import { addTenantUser, removeTenantUser } from '../../shared/auth/tenants';
import { closeRedis } from '../../shared/cache/redis';
import { resetConfig } from '../../shared/config';
import { startStack, Stack } from '../../shared/local/stack';
import { closeTestEnv, newTenantKey, TestEnv, useTestEnv } from '../support/database';

const PROJECT = 'aiprod-identity-test';
const ISSUER = `https://securetoken.google.com/${PROJECT}`;
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const KEY = /^sk_live_[A-Za-z0-9]{12}_[A-Za-z0-9_-]{43}$/;

let env: TestEnv;
let stack: Stack;
let jwks: { url: string; requests: () => number; server: Server };
let tenant: { id: string; name: string };

interface SigningKey {
  kid: string;
  privateKey: KeyLike;
}
let googleKey: SigningKey;
let otherKey: SigningKey;

async function newKey(): Promise<SigningKey & { publicJwk: Record<string, unknown> }> {
  const { publicKey, privateKey } = await generateKeyPair('RS256');
  const kid = randomBytes(8).toString('hex');
  return { kid, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' } };
}

/** Google's key set as a local server: `/keys` the set, anything else a 500. Counts fetches of the set. */
async function serveKeySet(keys: Record<string, unknown>[]): Promise<typeof jwks> {
  let fetched = 0;
  const server = createServer((req, res) => {
    if (req.url !== '/keys') return void res.writeHead(500).end('broken');
    fetched += 1;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/keys`,
    requests: () => fetched,
    server,
  };
}

const now = (): number => Math.floor(Date.now() / 1000);

/** An ID token as Identity Platform issues one, every claim overridable (undefined drops it). */
function idToken(
  uid: string | undefined,
  overrides: { claims?: JWTPayload; key?: SigningKey; kid?: string; alg?: string } = {},
): Promise<string> {
  const key = overrides.key ?? googleKey;
  const claims: JWTPayload = {
    iss: ISSUER,
    aud: PROJECT,
    sub: uid,
    iat: now() - 60,
    exp: now() + 3540,
    auth_time: now() - 120,
    firebase: { sign_in_provider: 'password' },
    ...overrides.claims,
  };
  for (const [name, value] of Object.entries(claims)) if (value === undefined) delete claims[name];
  return new SignJWT(claims)
    .setProtectedHeader({ alg: overrides.alg ?? 'RS256', kid: overrides.kid ?? key.kid, typ: 'JWT' })
    .sign(key.privateKey);
}

/** A caller address of its own (the load balancer's X-Forwarded-For), so one case's count is not another's. */
const newIp = (): string => `10.${randomBytes(3).join('.')}`;

async function call(
  method: string,
  path: string,
  opts: { json?: unknown; raw?: string; headers?: Record<string, string>; key?: string; ip?: string } = {},
) {
  const headers: Record<string, string> = { 'x-forwarded-for': opts.ip ?? newIp(), ...opts.headers };
  if (opts.key) headers.authorization = `Bearer ${opts.key}`;
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

const loginWith = (token: string, ip?: string) => call('POST', '/auth/login', { json: { id_token: token }, ip });

/** A uid mapped to the test tenant. */
async function newUser(): Promise<string> {
  const uid = `user-${randomBytes(10).toString('hex')}`;
  await addTenantUser(env.db, tenant.name, uid);
  return uid;
}

function expectProblem(r: Awaited<ReturnType<typeof call>>, status: number, code: string): void {
  expect(r.status).toBe(status);
  expect(r.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(r.body).toMatchObject({ status, code, type: `https://aiprod.dev/problems/${code}` });
}

beforeAll(async () => {
  const [google, other] = [await newKey(), await newKey()];
  googleKey = google;
  otherKey = other;
  jwks = await serveKeySet([google.publicJwk]);
  env = await useTestEnv({
    AIPROD_LOCAL_WORKERS: '0',
    AIPROD_IDENTITY_PROJECT: PROJECT,
    AIPROD_IDENTITY_JWKS_URL: jwks.url,
    // Long enough that only the token's own end can take it out of the cache within a test.
    AIPROD_API_KEY_CACHE_SECONDS: '60',
  });
  stack = await startStack({ loadFunction, port: 0, dataDir: env.dataDir, maintenanceSeconds: 0 });
  const { tenantId } = await newTenantKey(env.db, 'pro');
  tenant = { id: tenantId, name: (await env.db('tenants').where({ id: tenantId }).first('name')).name };
});

afterAll(async () => {
  await stack.stop();
  await closeRedis();
  await closeTestEnv();
  jwks.server.closeAllConnections();
  await new Promise((r) => jwks.server.close(r));
});

describe('a good ID token', () => {
  it("answers an API token of the user's tenant for one hour, stored hashed, that works at once", async () => {
    const uid = await newUser();
    const r = await loginWith(await idToken(uid));
    expect(r.status).toBe(200);
    expect(r.body).toEqual({
      token: expect.stringMatching(KEY),
      token_type: 'Bearer',
      expires_at: expect.stringMatching(ISO),
      tenant: { id: tenant.id, name: tenant.name, tier: 'pro' },
    });
    expect(r.headers.get('cache-control')).toBe('no-store');

    const row = await env
      .db('api_keys')
      .where({ lookup: keyParts(r.body.token)!.lookup })
      .first();
    expect(row).toMatchObject({ tenant_id: tenant.id, user_uid: uid, revoked_at: null });
    expect(JSON.stringify(row)).not.toContain(keyParts(r.body.token)!.secret);
    // Exactly one hour from its creation, by the database's clock, which is the one that checks it.
    const exact = await env.db.raw(
      'SELECT (expires_at - created_at) = make_interval(secs => ?) AS hour FROM api_keys WHERE id = ?',
      [LOGIN_TOKEN_TTL_SECONDS, row.id],
    );
    expect(exact.rows[0].hour).toBe(true);
    expect(new Date(r.body.expires_at).getTime()).toBe(new Date(row.expires_at).getTime());

    const bugs = await call('GET', '/support/bugs', { key: r.body.token });
    expect(bugs.status).toBe(200);
    expect(await verifyApiKey(env.db, r.body.token)).toMatchObject({ tenantId: tenant.id, tier: 'pro' });
  });

  it("fetches Google's keys once and then serves logins from the cached set", async () => {
    const uid = await newUser();
    expect((await loginWith(await idToken(uid))).status).toBe(200);
    const fetched = jwks.requests();
    expect(fetched).toBeGreaterThanOrEqual(1);
    for (let i = 0; i < 3; i++) expect((await loginWith(await idToken(uid))).status).toBe(200);
    expect(jwks.requests()).toBe(fetched);
  });

  it('gives each login its own token and drops the expired ones of the same user', async () => {
    const uid = await newUser();
    const [a, b] = [await loginWith(await idToken(uid)), await loginWith(await idToken(uid))];
    expect(a.body.token).not.toBe(b.body.token);
    await env
      .db('api_keys')
      .where({ user_uid: uid })
      .update({ expires_at: env.db.raw("now() - interval '1 second'") });
    const c = await loginWith(await idToken(uid));
    expect(c.status).toBe(200);
    const rows = await env.db('api_keys').where({ user_uid: uid }).select('lookup');
    expect(rows.map((x) => x.lookup)).toEqual([keyParts(c.body.token)!.lookup]);
  });
});

describe("the token's hour", () => {
  it('refuses a token once it has expired', async () => {
    const uid = await newUser();
    const r = await loginWith(await idToken(uid));
    await env
      .db('api_keys')
      .where({ lookup: keyParts(r.body.token)!.lookup })
      .update({ expires_at: env.db.raw("now() - interval '1 second'") });
    expectProblem(await call('GET', '/support/bugs', { key: r.body.token }), 401, 'unauthorized');
    expect(await verifyApiKey(env.db, r.body.token)).toBeNull();
  });

  it('refuses a token the key cache remembers once its end has passed, however long the cache keeps keys', async () => {
    const uid = await newUser();
    const issued = (await issueUserToken(env.db, uid, 2))!;
    // Remembered now, by the instance serving the stack, for up to AIPROD_API_KEY_CACHE_SECONDS (60).
    expect((await call('GET', '/support/bugs', { key: issued.key })).status).toBe(200);
    expect((await call('GET', '/support/bugs', { key: issued.key })).status).toBe(200);
    // Wait until both clocks agree that the end has passed.
    while (
      Date.now() <= issued.expiresAt.getTime() ||
      !(await env.db.raw('SELECT now() > ?::timestamptz AS past', [issued.expiresAt.toISOString()])).rows[0].past
    ) {
      await new Promise((r) => setTimeout(r, 100));
    }
    expectProblem(await call('GET', '/support/bugs', { key: issued.key }), 401, 'unauthorized');
  });

  it('ends with the user: removing the user from its tenant revokes its tokens', async () => {
    const uid = await newUser();
    const r = await loginWith(await idToken(uid));
    expect(await removeTenantUser(env.db, uid)).toBe(true);
    expect(await verifyApiKey(env.db, r.body.token)).toBeNull();
    expect(await env.db('api_keys').where({ user_uid: uid })).toHaveLength(0);
  });
});

describe('refused ID tokens: 401', () => {
  const cases: [string, (uid: string) => Promise<string>, string][] = [
    ['signed by a key not in the set', (uid) => idToken(uid, { key: otherKey }), 'invalid_token'],
    [
      "signed by another key under a known key's id",
      (uid) => idToken(uid, { key: otherKey, kid: googleKey.kid }),
      'invalid_token',
    ],
    [
      'of another issuer',
      (uid) => idToken(uid, { claims: { iss: 'https://securetoken.google.com/other-project' } }),
      'invalid_token',
    ],
    ['for another audience', (uid) => idToken(uid, { claims: { aud: 'other-project' } }), 'invalid_token'],
    ['expired', (uid) => idToken(uid, { claims: { iat: now() - 7200, exp: now() - 3600 } }), 'token_expired'],
    ['without a subject', () => idToken(undefined), 'invalid_token'],
    ['with an empty subject', () => idToken(''), 'invalid_token'],
    ['without auth_time', (uid) => idToken(uid, { claims: { auth_time: undefined } }), 'invalid_token'],
    ['authenticated in the future', (uid) => idToken(uid, { claims: { auth_time: now() + 600 } }), 'invalid_token'],
    ['issued in the future', (uid) => idToken(uid, { claims: { iat: now() + 600 } }), 'invalid_token'],
    ['without an expiry', (uid) => idToken(uid, { claims: { exp: undefined } }), 'invalid_token'],
    [
      'signed with HS256 instead of RS256',
      async (uid) =>
        new SignJWT({ iss: ISSUER, aud: PROJECT, sub: uid, iat: now(), exp: now() + 600, auth_time: now() })
          .setProtectedHeader({ alg: 'HS256', kid: googleKey.kid })
          .sign(randomBytes(32)),
      'invalid_token',
    ],
    [
      'unsigned (alg none)',
      async (uid) => {
        const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
        return `${part({ alg: 'none', kid: googleKey.kid })}.${part({ iss: ISSUER, aud: PROJECT, sub: uid, iat: now(), exp: now() + 600, auth_time: now() })}.`;
      },
      'invalid_token',
    ],
    ['not a JWT at all', async () => 'not-a-token', 'invalid_token'],
  ];

  it.each(cases)('refuses a token %s', async (_name, make, code) => {
    const uid = await newUser();
    const r = await loginWith(await make(uid));
    expectProblem(r, 401, code);
    expect(r.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(r.text).not.toContain('sk_live_');
    expect(await env.db('api_keys').where({ user_uid: uid })).toHaveLength(0);
  });
});

describe('other refusals', () => {
  it('answers 403 unknown_user for a good token of a user no tenant has', async () => {
    const r = await loginWith(await idToken(`stranger-${randomUUID()}`));
    expectProblem(r, 403, 'unknown_user');
  });

  it.each([
    ['no id_token', {}, [{ field: 'id_token', code: 'required' }]],
    ['a number', { id_token: 42 }, [{ field: 'id_token', code: 'invalid_type' }]],
    ['an empty string', { id_token: '' }, [{ field: 'id_token', code: 'too_short' }]],
    ['an overlong string', { id_token: 'a'.repeat(8193) }, [{ field: 'id_token', code: 'too_long' }]],
    ['an unknown field', { id_token: 'x', password: 'hunter2' }, [{ field: 'password', code: 'unknown_field' }]],
  ])('answers 422 validation_failed for a body with %s', async (_name, json, errors) => {
    const r = await call('POST', '/auth/login', { json });
    expectProblem(r, 422, 'validation_failed');
    expect(r.body.errors).toEqual(errors.map((e) => expect.objectContaining(e)));
  });

  it('answers 415 for a body that is not JSON and 400 invalid_json for JSON that is not an object', async () => {
    expectProblem(
      await call('POST', '/auth/login', {
        raw: 'id_token=x',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      }),
      415,
      'unsupported_media_type',
    );
    expectProblem(await call('POST', '/auth/login', { raw: '["x"]' }), 400, 'invalid_json');
  });

  it("answers 503 identity_unavailable with Retry-After when Google's keys cannot be fetched", async () => {
    const uid = await newUser();
    process.env.AIPROD_IDENTITY_JWKS_URL = jwks.url.replace(/\/keys$/, '/broken');
    resetConfig();
    try {
      const r = await loginWith(await idToken(uid));
      expectProblem(r, 503, 'identity_unavailable');
      expect(Number(r.headers.get('retry-after'))).toBeGreaterThan(0);
    } finally {
      process.env.AIPROD_IDENTITY_JWKS_URL = jwks.url;
      resetConfig();
    }
    expect((await loginWith(await idToken(uid))).status).toBe(200);
  });

  it('limits anonymous callers per address: the 11th attempt in a minute is 429, another address still passes', async () => {
    const ip = newIp();
    const statuses: number[] = [];
    for (let i = 0; i < 11; i++) statuses.push((await loginWith('not-a-token', ip)).status);
    expect(statuses).toEqual([...Array(10).fill(401), 429]);
    const limited = await loginWith('not-a-token', ip);
    expectProblem(limited, 429, 'rate_limited');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await loginWith('not-a-token')).status).toBe(401);
  });
});
