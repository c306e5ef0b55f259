/** The per-instance memory of verified API keys: bounded staleness, revocation here at once. */
import { authenticate, revokeApiKey, verifyApiKey } from '../../shared/auth/api-keys';
import { closeTestEnv, newTenantKey, TestEnv, useTestEnv } from '../support/database';

let env: TestEnv;

beforeAll(async () => {
  env = await useTestEnv();
});

afterAll(closeTestEnv);

const revokeBehindItsBack = (keyId: string) =>
  env.db('api_keys').where({ id: keyId }).update({ revoked_at: env.db.fn.now() });

it('remembers a verified key for its TTL, so a revocation elsewhere shows once the TTL is over', async () => {
  const { key, keyId, tenantId } = await newTenantKey(env.db);
  expect(await authenticate(env.db, key, 1)).toMatchObject({ keyId, tenantId });
  await revokeBehindItsBack(keyId); // as another instance would
  expect(await authenticate(env.db, key, 1)).toMatchObject({ keyId });
  await new Promise((r) => setTimeout(r, 1100));
  expect(await authenticate(env.db, key, 1)).toBeNull();
});

it('forgets a key revoked in this process at once', async () => {
  const { key, keyId } = await newTenantKey(env.db);
  expect(await authenticate(env.db, key, 60)).toMatchObject({ keyId });
  await revokeApiKey(env.db, keyId);
  expect(await authenticate(env.db, key, 60)).toBeNull();
});

it('never remembers an unknown key, and remembers nothing with a TTL of 0', async () => {
  const { key, keyId } = await newTenantKey(env.db);
  const wrong = key.slice(0, -4) + (key.endsWith('AAAA') ? 'BBBB' : 'AAAA');
  expect(await authenticate(env.db, wrong, 60)).toBeNull();
  expect(await authenticate(env.db, key, 0)).toMatchObject({ keyId });
  await revokeBehindItsBack(keyId);
  expect(await authenticate(env.db, key, 0)).toBeNull();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Resolves once the next query on api_keys is answered and what waited on it has run. */
function nextKeyQuery(): Promise<void> {
  return new Promise((resolve) => {
    const answered = (_response: unknown, query: { sql: string }) => {
      if (!query.sql.includes('api_keys')) return;
      env.db.removeListener('query-response', answered);
      setImmediate(resolve);
    };
    env.db.on('query-response', answered);
  });
}

it('verifies a key in use again past half its TTL, off the request path, so it never ends while used', async () => {
  const { key, keyId } = await newTenantKey(env.db);
  expect(await authenticate(env.db, key, 2)).toMatchObject({ keyId });
  await sleep(1100);
  // Past half the TTL: answered from memory, and verified again behind the answer.
  const verified = nextKeyQuery();
  expect(await authenticate(env.db, key, 2)).toMatchObject({ keyId });
  await verified;
  await revokeBehindItsBack(keyId);
  // Past the first verification's TTL, the second one's holds.
  await sleep(1000);
  expect(await authenticate(env.db, key, 2)).toMatchObject({ keyId });
});

it('lets a verification in the background see a revocation elsewhere before the TTL ends', async () => {
  const { key, keyId } = await newTenantKey(env.db);
  expect(await authenticate(env.db, key, 2)).toMatchObject({ keyId });
  await revokeBehindItsBack(keyId);
  await sleep(1100);
  const verified = nextKeyQuery();
  expect(await authenticate(env.db, key, 2)).toMatchObject({ keyId });
  await verified;
  expect(await authenticate(env.db, key, 2)).toBeNull();
});

it('verifies keys presented together in one query, each on its own merits', async () => {
  const keys = await Promise.all(Array.from({ length: 12 }, () => newTenantKey(env.db)));
  const wrong = keys[0]!.key.slice(0, -4) + (keys[0]!.key.endsWith('AAAA') ? 'BBBB' : 'AAAA');
  const selects: string[] = [];
  const count = (q: { sql: string }) => {
    if (/^select/i.test(q.sql) && q.sql.includes('api_keys')) selects.push(q.sql);
  };
  env.db.on('query', count);
  try {
    const presented = [...keys.map((k) => k.key), wrong, 'sk_live_not_a_key'];
    const answers = await Promise.all(presented.map((p) => verifyApiKey(env.db, p)));
    expect(answers.slice(0, 12).map((a) => a?.keyId)).toEqual(keys.map((k) => k.keyId));
    expect(answers.slice(12)).toEqual([null, null]);
    // The first alone, as an idle instance writes at once; the rest together.
    expect(selects.length).toBeLessThanOrEqual(2);
  } finally {
    env.db.removeListener('query', count);
  }
  const touched = await env
    .db('api_keys')
    .whereIn(
      'id',
      keys.map((k) => k.keyId),
    )
    .whereNotNull('last_used_at');
  expect(touched).toHaveLength(12);
});
