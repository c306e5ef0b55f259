/** The per-instance memory of verified API keys: bounded staleness, revocation here at once. */
import { authenticate, revokeApiKey } from '../../shared/auth/api-keys';
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
