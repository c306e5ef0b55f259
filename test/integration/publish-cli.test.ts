/** `npm run publish`, as an operator fires a message by hand, against a running local stack. */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Stack } from '../../shared/local/stack';
import { TOPICS } from '../../shared/platform/manifest';
import { closeTestEnv, newTenantKey, TestEnv, useTestEnv } from '../support/database';
import { startTestStack } from '../support/stack';

const run = promisify(execFile);
const root = join(__dirname, '../..');
let env: TestEnv;
let stack: Stack;

const publish = (...args: string[]) =>
  run('npm', ['run', '--silent', 'publish', '--', ...args], { cwd: root, env: process.env });

beforeAll(async () => {
  env = await useTestEnv();
  // No tick of its own: only the published message can make the sweeper run.
  stack = await startTestStack(env);
});
afterAll(async () => {
  await stack.stop();
  await closeTestEnv();
});

it('delivers a maintenance tick to the sweeper, which runs: a day-old idempotency key is gone', async () => {
  const { tenantId } = await newTenantKey(env.db);
  await env.db('idempotency_keys').insert([
    { tenant_id: tenantId, key: 'stale', fingerprint: 'f', created_at: env.db.raw("now() - interval '25 hours'") },
    { tenant_id: tenantId, key: 'fresh', fingerprint: 'f' },
  ]);

  const { stdout } = await publish('maintenance', '{"action":"sweep"}', '--attribute', 'origin=operator', '--wait');

  expect(stdout).toMatch(/^delivered maintenance -> sweeper-push \(message local-\d+\) in [\d.]+ s, attempt 1$/m);
  const keys = await env.db('idempotency_keys').where({ tenant_id: tenantId }).pluck('key');
  expect(keys).toEqual(['fresh']);
  const id = /local-(\d+)/.exec(stdout)![1];
  const row = await env.db('bus_messages').where({ id }).first();
  expect(row).toMatchObject({ subscription: 'sweeper-push', topic: 'maintenance', attributes: { origin: 'operator' } });
  expect(row.delivered_at).not.toBeNull();
  expect(JSON.parse(Buffer.from(row.data, 'base64').toString())).toEqual({ action: 'sweep' });
}, 120_000);

it('refuses an unknown topic and a message that is not a JSON object, on one line, exit 1, publishing nothing', async () => {
  const before = await env.db('bus_messages').count('* as n').first();
  await expect(publish('maintenence', '{}')).rejects.toMatchObject({
    code: 1,
    stderr: `publish: unknown topic "maintenence"; the topics are ${Object.keys(TOPICS).join(', ')}\n`,
  });
  await expect(publish('maintenance', '{"action":')).rejects.toMatchObject({
    code: 1,
    stderr: expect.stringMatching(/^publish: the message is not JSON \(.*\)\n$/),
  });
  expect(await env.db('bus_messages').count('* as n').first()).toEqual(before);
}, 120_000);
