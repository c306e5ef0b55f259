/** `npm run api-key`, as an operator runs it, against the test database. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { keyParts, verifyApiKey } from '../../shared/auth/api-keys';
import { closeTestEnv, TestEnv, useTestEnv } from '../support/database';

const run = promisify(execFile);
const root = join(__dirname, '../..');
let env: TestEnv;

const apiKey = (...args: string[]) =>
  run('npm', ['run', '--silent', 'api-key', '--', ...args], { cwd: root, env: process.env });

beforeAll(async () => {
  env = await useTestEnv();
});
afterAll(closeTestEnv);

it('creates the tenant and prints a working key alone on the last line; only its hash is stored', async () => {
  const { stdout } = await apiKey('create', '--tenant', 'acme-cli', '--tier', 'enterprise');
  const lines = stdout.trim().split('\n');
  const key = lines[lines.length - 1]!;
  expect(key).toMatch(/^sk_live_[A-Za-z0-9]{12}_[A-Za-z0-9_-]{43}$/);
  const principal = await verifyApiKey(env.db, key);
  expect(principal).toMatchObject({ tenantName: 'acme-cli', tier: 'enterprise' });
  const stored = JSON.stringify(await env.db('api_keys').where({ id: principal!.keyId }).first());
  expect(stored).not.toContain(keyParts(key)!.secret);

  // A second key for the same tenant reuses the tenant.
  await apiKey('create', '--tenant', 'acme-cli', '--tier', 'enterprise');
  expect(await env.db('tenants').where({ name: 'acme-cli' })).toHaveLength(1);

  await apiKey('--revoke', principal!.keyId);
  expect(await verifyApiKey(env.db, key)).toBeNull();
}, 60_000);

it('refuses a bad tier with a usage message and exit code 2', async () => {
  await expect(apiKey('create', '--tenant', 'x', '--tier', 'gold')).rejects.toMatchObject({
    code: 2,
    stderr: expect.stringContaining('--tier must be one of free, pro, enterprise'),
  });
});
