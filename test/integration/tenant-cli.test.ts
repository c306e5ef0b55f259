/**
 * `npm run tenant`, as an operator runs it, against the test database: tiers (the change seen
 * by the API at once with the key cache off), users mapped to tenants, and problem reports
 * (read, status, answers), with usage errors exiting 2 and refusals exiting 1.
 */
import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { loadFunction } from '../../functions';
import { issueUserToken, verifyApiKey } from '../../shared/auth/api-keys';
import { closeRedis } from '../../shared/cache/redis';
import { startStack, Stack } from '../../shared/local/stack';
import { closeTestEnv, newTenantKey, TestEnv, useTestEnv } from '../support/database';

const run = promisify(execFile);
const root = join(__dirname, '../..');
let env: TestEnv;
let stack: Stack;

const tenantCli = (...args: string[]) =>
  run('npm', ['run', '--silent', 'tenant', '--', ...args], { cwd: root, env: process.env });

/** A tenant with a key, and its name. */
async function newTenant(tier: 'free' | 'pro' | 'enterprise' = 'pro') {
  const created = await newTenantKey(env.db, tier);
  const { name } = await env.db('tenants').where({ id: created.tenantId }).first('name');
  return { ...created, name: name as string };
}

const newUid = (): string => `uid-${randomBytes(8).toString('hex')}`;

const fileBug = (key: string) =>
  fetch(`${stack.url}/support/bugs`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ title: 'Webhook never arrives', description: 'job.completed is not delivered.' }),
  });

beforeAll(async () => {
  // The key cache off: the stack reads the tier on every request, so the change shows at once.
  env = await useTestEnv({ AIPROD_LOCAL_WORKERS: '0', AIPROD_API_KEY_CACHE_SECONDS: '0' });
  stack = await startStack({ loadFunction, port: 0, dataDir: env.dataDir, maintenanceSeconds: 0 });
});

afterAll(async () => {
  await stack.stop();
  await closeRedis();
  await closeTestEnv();
});

describe('set', () => {
  it("changes a tenant's tier, and the API applies the new tier's limits to its next request", async () => {
    const tenant = await newTenant('free');
    // The free tier's 10 submits a minute, spent; the 11th is refused.
    for (let i = 0; i < 10; i++) expect((await fileBug(tenant.key)).status).toBe(201);
    expect((await fileBug(tenant.key)).status).toBe(429);

    const { stdout } = await tenantCli('set', '--tenant', tenant.name, '--tier', 'pro');
    expect(stdout).toContain(`tenant ${tenant.name} (${tenant.tenantId}): tier free -> pro`);
    expect(await env.db('tenants').where({ id: tenant.tenantId }).first('tier')).toEqual({ tier: 'pro' });
    expect(await verifyApiKey(env.db, tenant.key)).toMatchObject({ tier: 'pro' });
    // Same minute, same count: under pro's 100 it passes.
    expect((await fileBug(tenant.key)).status).toBe(201);
  }, 60_000);

  it('refuses an unknown tenant with exit code 1, and a bad tier or no tenant with usage and exit code 2', async () => {
    await expect(tenantCli('set', '--tenant', `nobody-${randomUUID()}`, '--tier', 'pro')).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringContaining('No such tenant named nobody-'),
    });
    await expect(tenantCli('set', '--tenant', 'acme', '--tier', 'gold')).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringContaining('--tier must be one of free, pro, enterprise'),
    });
    await expect(tenantCli('set', '--tier', 'pro')).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringContaining('usage: npm run tenant -- set --tenant <name>'),
    });
  }, 60_000);
});

describe('add-user and remove-user', () => {
  it('maps a user to a tenant once; mapping it again changes nothing', async () => {
    const tenant = await newTenant();
    const uid = newUid();
    expect((await tenantCli('add-user', '--tenant', tenant.name, '--uid', uid)).stdout).toContain(
      `user ${uid} now signs in to tenant ${tenant.name}`,
    );
    expect((await tenantCli('add-user', '--tenant', tenant.name, '--uid', uid)).stdout).toContain(
      `user ${uid} already signs in to tenant ${tenant.name}`,
    );
    expect(await env.db('tenant_users').where({ uid })).toEqual([
      expect.objectContaining({ uid, tenant_id: tenant.tenantId }),
    ]);
  }, 60_000);

  it('refuses a user of another tenant (a uid belongs to one tenant) and an unknown tenant, exit code 1', async () => {
    const [first, second] = [await newTenant(), await newTenant()];
    const uid = newUid();
    await tenantCli('add-user', '--tenant', first.name, '--uid', uid);
    await expect(tenantCli('add-user', '--tenant', second.name, '--uid', uid)).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringContaining(`belongs to tenant ${first.name}`),
    });
    await expect(tenantCli('add-user', '--tenant', `nobody-${randomUUID()}`, '--uid', newUid())).rejects.toMatchObject({
      code: 1,
    });
    expect(await env.db('tenant_users').where({ uid })).toEqual([
      expect.objectContaining({ tenant_id: first.tenantId }),
    ]);
  }, 60_000);

  it('removes a user, whose API tokens stop working; an unknown user exits 1, a missing uid 2', async () => {
    const tenant = await newTenant();
    const uid = newUid();
    await tenantCli('add-user', '--tenant', tenant.name, '--uid', uid);
    const token = (await issueUserToken(env.db, uid, 3600))!;
    expect(await verifyApiKey(env.db, token.key)).toMatchObject({ tenantId: tenant.tenantId });

    expect((await tenantCli('remove-user', '--uid', uid)).stdout).toContain(`user ${uid} removed`);
    expect(await verifyApiKey(env.db, token.key)).toBeNull();
    await expect(tenantCli('remove-user', '--uid', uid)).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringContaining('belongs to no tenant'),
    });
    await expect(tenantCli('add-user', '--tenant', tenant.name)).rejects.toMatchObject({
      code: 2,
      stderr: expect.stringContaining('--uid is required'),
    });
  }, 60_000);
});

describe('bugs and bug', () => {
  it('lists reports, moves one to acknowledged with an answer, and the partner sees both', async () => {
    const tenant = await newTenant();
    const filed = await (await fileBug(tenant.key)).json();

    const open = await tenantCli('bugs', '--status', 'open');
    expect(open.stdout).toMatch(new RegExp(`${filed.id}\\s+open\\s+\\S+\\s+${tenant.name}\\s+Webhook never arrives`));

    const { stdout } = await tenantCli(
      'bug',
      '--id',
      filed.id,
      '--status',
      'acknowledged',
      '--comment',
      'Looking into it.',
    );
    expect(stdout).toContain(`report ${filed.id} of tenant ${tenant.name}: acknowledged`);
    expect(stdout).toMatch(/operator: Looking into it\./);

    const seen = await (
      await fetch(`${stack.url}/support/bugs/${filed.id}`, { headers: { authorization: `Bearer ${tenant.key}` } })
    ).json();
    expect(seen).toMatchObject({
      status: 'acknowledged',
      comments: [{ author: 'operator', body: 'Looking into it.' }],
    });
    expect((await tenantCli('bugs', '--status', 'open')).stdout).not.toContain(filed.id);
    expect((await tenantCli('bugs', '--status', 'acknowledged')).stdout).toContain(filed.id);

    await tenantCli('bug', '--id', filed.id, '--status', 'resolved');
    expect(await env.db('bug_reports').where({ id: filed.id }).first('status')).toEqual({ status: 'resolved' });
  }, 60_000);

  it('shows a report without changing it when given neither status nor comment', async () => {
    const tenant = await newTenant();
    const filed = await (await fileBug(tenant.key)).json();
    const { stdout } = await tenantCli('bug', '--id', filed.id);
    expect(stdout).toContain(`report ${filed.id} of tenant ${tenant.name}: open`);
    expect(stdout).toContain('job.completed is not delivered.');
    const row = await env.db('bug_reports').where({ id: filed.id }).first('updated_at');
    expect(row.updated_at.toISOString()).toBe(filed.updated_at);
  }, 60_000);

  it('refuses an unknown report with exit code 1, and a bad status, a bad id or an empty comment with exit code 2', async () => {
    await expect(tenantCli('bug', '--id', randomUUID(), '--status', 'resolved')).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringContaining('No such bug report'),
    });
    const id = randomUUID();
    for (const args of [
      ['--id', id, '--status', 'closed'],
      ['--id', 'report-1'],
      ['--id', id, '--comment', '   '],
    ]) {
      await expect(tenantCli('bug', ...args)).rejects.toMatchObject({
        code: 2,
        stderr: expect.stringContaining('usage:'),
      });
    }
  }, 60_000);
});

it('refuses an unknown command or none with usage and exit code 2', async () => {
  await expect(tenantCli('promote', '--tenant', 'acme')).rejects.toMatchObject({
    code: 2,
    stderr: expect.stringContaining('unknown command promote'),
  });
  await expect(tenantCli()).rejects.toMatchObject({
    code: 2,
    stderr: expect.stringContaining('a command is required'),
  });
}, 60_000);
