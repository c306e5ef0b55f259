/**
 * The secret-rotator on the local stack, against a PostgreSQL that checks passwords, connected as
 * a role of the test's own (the application user): the whole rotation while partners' requests
 * keep coming, the grace period and the tick that ends it, idempotent ticks, a dry run, and a
 * failure injected at each step rolled back to a working state.
 */
import { randomBytes } from 'node:crypto';
import type { CloudEvent } from '@google-cloud/functions-framework';
import type { Knex } from 'knex';
import { resetConfig } from '../../shared/config';
import { open, type Sealed } from '../../shared/crypto/envelope';
import { closeDb, connect, db } from '../../shared/db';
import type { Stack } from '../../shared/local/stack';
import { logger } from '../../shared/log';
import { keyEncryptionKey, localKeyEncryptionKeyVersions, resetPlatform, transport } from '../../shared/platform';
import { SecretVersionDisabledError, secretStore } from '../../shared/secrets';
import { onSecretRotation } from '../../shared/secrets/rotation/handler';
import type { RotationRecord } from '../../shared/secrets/rotation/records';
import { closeTestEnv, newTenantKey, useTestEnv, type TestEnv } from '../support/database';
import { assertPasswordsChecked, createLoginRole, type TestRole } from '../support/database-role';
import { startTestStack } from '../support/stack';
import { insertWebhook } from '../support/webhook-fixtures';

let env: TestEnv;
let admin: Knex;
let role: TestRole;
let stack: Stack;
let apiKey: string;
const metricsToken = randomBytes(24).toString('hex');
const logged: unknown[] = [];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

/** The SQLSTATE a fresh connection with `url` gets, or undefined when it connects. */
async function refusal(url: string): Promise<string | undefined> {
  const k = connect(url, 1);
  try {
    await k.raw('SELECT 1');
    return undefined;
  } catch (err) {
    return (err as { code?: string }).code ?? 'error';
  } finally {
    await k.destroy();
  }
}

const rotations = (target?: string): Promise<RotationRecord[]> =>
  admin('secret_rotations')
    .modify((q) => {
      if (target) q.where({ target });
    })
    .orderBy('started_at');

/** Publishes on the local bus, as Cloud Scheduler or Secret Manager would, and waits for the delivery. */
async function publish(data: unknown, attributes: Record<string, string> = {}): Promise<void> {
  const id = (await transport().publish('secret-rotation', data, attributes)).replace(/^local-/, '');
  await until(`delivery of bus message ${id}`, async () => {
    const row = await admin('bus_messages').where({ id }).first();
    return row?.delivered_at || row?.dead_lettered_at;
  });
}

/** The handler itself, with a CloudEvent as the framework makes it from a push: for its report. */
const handle = (data: unknown) =>
  onSecretRotation({
    id: `t-${randomBytes(4).toString('hex')}`,
    specversion: '1.0',
    type: 'google.cloud.pubsub.topic.v1.messagePublished',
    source: 'test',
    data: { message: { data: Buffer.from(JSON.stringify(data)).toString('base64'), attributes: {} } },
  } as CloudEvent<unknown>);

const listJobs = () => fetch(`${stack.url}/jobs?limit=1`, { headers: { authorization: `Bearer ${apiKey}` } });

/**
 * Ends the stack's idle connections, so the next requests must open (and authenticate) new ones:
 * once the server processes are gone, and the pool has seen its sockets close.
 */
async function dropIdleConnections(): Promise<void> {
  const { rows } = await admin.raw<{ rows: { pid: number }[] }>(
    "SELECT pid FROM pg_stat_activity WHERE usename = ? AND state = 'idle'",
    [role.name],
  );
  const pids = rows.map((r) => r.pid);
  if (!pids.length) return;
  await admin.raw(`SELECT pg_terminate_backend(pid) FROM unnest(?::int[]) AS pid`, [pids]);
  await until('the ended connections gone', async () => {
    const left = await admin.raw<{ rows: unknown[] }>('SELECT 1 FROM pg_stat_activity WHERE pid = ANY(?::int[])', [
      pids,
    ]);
    return left.rows.length === 0;
  });
  await sleep(300);
}

/** Requests every few milliseconds from a few clients, until stopped: their statuses. */
function keepServing(clients = 3) {
  const statuses: number[] = [];
  let running = true;
  const loops = Array.from({ length: clients }, async () => {
    while (running) {
      // A refused connection counts as a failed request (status 0), never as a crash of the run.
      statuses.push(
        await listJobs().then(
          (r) => r.status,
          () => 0,
        ),
      );
      await sleep(30);
    }
  });
  return {
    statuses,
    async stop() {
      running = false;
      await Promise.all(loops);
      return statuses;
    },
  };
}

const versionsOf = async (secret: string) =>
  (await secretStore().listVersions(secret)).map((v) => [v.version, v.state] as const).reverse();

beforeAll(async () => {
  // A short TTL, so the metrics check sees a disabled token within the test; a grace period that
  // outlasts the checks made during it.
  env = await useTestEnv({
    AIPROD_ROTATION_GRACE_SECONDS: '15',
    AIPROD_SECRET_TTL_SECONDS: '1',
    AIPROD_METRICS_TOKEN: metricsToken,
  });
  admin = connect(env.url, 2);
  role = await createLoginRole(admin, env.url);
  await assertPasswordsChecked(role);
  await closeDb();
  process.env.DATABASE_URL = role.url;
  resetConfig();
  resetPlatform();
  // The data dir's KEK, made a rotation period ago (only the clock is faked, for the store's write).
  jest.useFakeTimers({
    now: Date.now() - 100 * 86_400_000,
    doNotFake: [
      'hrtime',
      'nextTick',
      'performance',
      'queueMicrotask',
      'setImmediate',
      'clearImmediate',
      'setInterval',
      'clearInterval',
      'setTimeout',
      'clearTimeout',
    ],
  });
  try {
    await expect(localKeyEncryptionKeyVersions()!.currentVersion()).resolves.toBe('v1');
  } finally {
    jest.useRealTimers();
  }
  stack = await startTestStack(env);
  ({ key: apiKey } = await newTenantKey(db(), 'enterprise'));
  for (const method of ['info', 'warn', 'error'] as const) {
    const original = logger()[method].bind(logger());
    jest.spyOn(logger(), method).mockImplementation(((...args: unknown[]) => {
      logged.push(args);
      return (original as (...a: unknown[]) => unknown)(...args);
    }) as never);
  }
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  await closeTestEnv();
  await role?.drop();
  await admin?.destroy();
});

describe('a scheduled rotation', () => {
  let webhookId: string;
  let oldUrl: string;

  beforeAll(async () => {
    const { tenantId } = await newTenantKey(db(), 'pro');
    ({ id: webhookId } = await insertWebhook(db(), { tenantId, url: 'https://hooks.example.com/rotation' }));
    oldUrl = role.url;
  });

  test('rotates the password, the KEK and the metrics token while requests keep succeeding', async () => {
    const load = keepServing();
    await until('requests under way', async () => load.statuses.length >= 10);
    await publish({ action: 'rotate' });
    await until(
      'the rotations',
      async () => (await rotations()).filter((r) => r.status !== 'in_progress').length === 3,
    );
    await sleep(500);
    const statuses = await load.stop();
    expect(statuses.length).toBeGreaterThan(20);
    expect(statuses.filter((s) => s !== 200)).toEqual([]);

    const byTarget = Object.fromEntries((await rotations()).map((r) => [r.target, r]));
    expect(byTarget['database-url']).toMatchObject({
      trigger: 'schedule',
      status: 'pending',
      step: 'disable_previous',
      previous_versions: { 'database-url': '1' },
      new_versions: { 'database-url': '2' },
    });
    expect(byTarget['database-url']!.steps.map((s) => `${s.step}:${s.outcome}`)).toEqual([
      'add_version:started',
      'add_version:done',
      'set_password:started',
      'set_password:done',
      'verify:started',
      'verify:done',
    ]);
    expect(byTarget['key-encryption-key']).toMatchObject({
      status: 'completed',
      new_versions: { 'key-encryption-key': 'v2' },
    });
    expect(byTarget['metrics-token']).toMatchObject({ status: 'pending', step: 'disable_previous' });

    // The role now has the new password only; the old URL is refused, the store's newest connects.
    const newUrl = (await secretStore().latest('database-url')).value;
    expect(newUrl).not.toBe(oldUrl);
    expect(await refusal(oldUrl)).toBe('28P01');
    expect(await refusal(newUrl)).toBeUndefined();
    // During the grace period the previous version is still enabled.
    expect(await versionsOf('database-url')).toEqual([
      ['1', 'enabled'],
      ['2', 'enabled'],
    ]);

    // Sealed values moved to the new KEK version and still open.
    const row = await admin('webhooks').where({ id: webhookId }).first<{ secret: Sealed }>();
    expect(row.secret.key_version).toBe('v2');
    await expect(open(keyEncryptionKey(), row.secret, `webhooks:${webhookId}`)).resolves.toBeInstanceOf(Buffer);
  });

  test('new connections of the running stack, refused the old password, take the new one', async () => {
    await dropIdleConnections();
    for (let i = 0; i < 5; i++) expect((await listJobs()).status).toBe(200);
    const fresh = await admin.raw<{ rows: { n: number }[] }>(
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE usename = ? AND backend_start > now() - interval '1 minute'",
      [role.name],
    );
    expect(fresh.rows[0]!.n).toBeGreaterThan(0);
  });

  test('the metrics token: the new one works, the old one until the grace period ends', async () => {
    const newToken = (await secretStore().latest('metrics-token')).value;
    expect(newToken).not.toBe(metricsToken);
    const metrics = (token: string) => fetch(`${stack.url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
    // Accepted tokens are re-read once per TTL.
    await until('the new metrics token accepted', async () => (await metrics(newToken)).status === 200);
    expect((await metrics(metricsToken)).status).toBe(200);
  });

  test('a duplicate tick changes nothing', async () => {
    const before = await rotations();
    const versions = await versionsOf('database-url');
    await publish({ action: 'rotate' });
    expect(await rotations()).toEqual(before);
    expect(await versionsOf('database-url')).toEqual(versions);
  });

  test('a dry run reports what would rotate and changes nothing', async () => {
    const before = await rotations();
    const report = await handle({ action: 'rotate', secret: 'database-url', force: true, dry_run: true });
    expect(report).toMatchObject({ dryRun: true, rotated: [], wouldRotate: [] });
    // The password's rotation is still open (its grace period), which the dry run says.
    expect(report.skipped).toEqual([{ target: 'database-url', reason: 'a rotation of it is open' }]);
    expect(await rotations()).toEqual(before);
  });

  test('after the grace period the finish tick disables the previous versions: the old credentials stop working', async () => {
    await until('the end of the grace period', async () => {
      const pending = await admin('secret_rotations').where({ status: 'pending' }).max('grace_until as until').first();
      return new Date(pending!.until) < new Date();
    });
    await publish({ action: 'finish' });
    const done = await rotations();
    expect(done.map((r) => r.status)).toEqual(['completed', 'completed', 'completed']);
    expect(await versionsOf('database-url')).toEqual([
      ['1', 'disabled'],
      ['2', 'enabled'],
    ]);
    await expect(secretStore().access('database-url', '1')).rejects.toBeInstanceOf(SecretVersionDisabledError);
    expect(await refusal(oldUrl)).toBe('28P01');

    const metrics = (token: string) => fetch(`${stack.url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
    await until('the old metrics token refused', async () => (await metrics(metricsToken)).status === 401);
    expect((await metrics((await secretStore().latest('metrics-token')).value)).status).toBe(200);

    // A forced dry run now says the password would rotate, and still changes nothing.
    const report = await handle({ action: 'rotate', secret: 'database-url', force: true, dry_run: true });
    expect(report.wouldRotate).toEqual(['database-url']);
    expect(await rotations()).toEqual(done);
  });
});

describe('a failure at each step', () => {
  afterEach(() => {
    delete process.env.AIPROD_ROTATION_FAIL_STEP;
    resetConfig();
  });

  test.each(['add_version', 'set_password', 'verify'])(
    'at %s: rolled back to the credentials in use, the event logged, the stack serving',
    async (step) => {
      const urlBefore = (await secretStore().latest('database-url')).value;
      const versionsBefore = await versionsOf('database-url');
      process.env.AIPROD_ROTATION_FAIL_STEP = step;
      resetConfig();
      logged.length = 0;

      const report = await handle({ action: 'rotate', secret: 'database-url', force: true });
      expect(report.rotated).toEqual([{ target: 'database-url', outcome: 'rolled_back' }]);
      const [record] = (await rotations('database-url')).slice(-1);
      expect(record).toMatchObject({ status: 'rolled_back', trigger: 'manual', error: expect.stringContaining(step) });
      const undone = record!.steps.filter((s) => s.outcome === 'undone').map((s) => s.step);
      expect(undone).toEqual(step === 'add_version' ? ['add_version'] : ['set_password', 'add_version']);

      // The role kept (or got back) its password, and the store's newest enabled version is that URL.
      const latest = await secretStore().latest('database-url');
      expect(latest.value).toBe(urlBefore);
      expect(await refusal(urlBefore)).toBeUndefined();
      // The version the rotation added is disabled; a copy of the previous one is the newest.
      const versions = await versionsOf('database-url');
      expect(versions.slice(0, versionsBefore.length)).toEqual(versionsBefore);
      expect(versions.slice(versionsBefore.length)).toEqual([
        [String(versionsBefore.length + 1), 'disabled'],
        [String(versionsBefore.length + 2), 'enabled'],
      ]);

      const events = logged.filter((l) => (l as [string, { event?: string }])[1]?.event === 'secret.rotation_failed');
      expect(events).toEqual([
        [
          'secret rotation failed',
          expect.objectContaining({ event: 'secret.rotation_failed', target: 'database-url', step, rolledBack: true }),
        ],
      ]);

      await dropIdleConnections();
      for (let i = 0; i < 3; i++) expect((await listJobs()).status).toBe(200);
    },
  );

  test('at disable_previous: the rotation stays pending and the next tick completes it', async () => {
    const report = await handle({ action: 'rotate', secret: 'metrics-token', force: true });
    expect(report.rotated).toEqual([{ target: 'metrics-token', outcome: 'pending' }]);
    process.env.AIPROD_ROTATION_FAIL_STEP = 'disable_previous';
    resetConfig();
    await until('the end of the grace period', async () => {
      const [r] = (await rotations('metrics-token')).slice(-1);
      return new Date(r!.grace_until!) < new Date();
    });
    const failed = await handle({ action: 'finish' });
    expect(failed.continued).toEqual([{ target: 'metrics-token', outcome: 'pending' }]);
    delete process.env.AIPROD_ROTATION_FAIL_STEP;
    resetConfig();
    const finished = await handle({ action: 'finish' });
    expect(finished.continued).toEqual([{ target: 'metrics-token', outcome: 'completed' }]);
  });

  test('a rotator that died mid-rotation is rolled back by the next run', async () => {
    const before = await secretStore().latest('database-url');
    // What a rotator that died right after ALTER ROLE leaves: a new version, the role's new
    // password, and its record in progress, the lease run out.
    const password = randomBytes(12).toString('hex');
    const u = new URL(before.value);
    u.password = password;
    const added = await secretStore().addVersion('database-url', u.toString());
    await admin.raw(`ALTER ROLE ${role.name} PASSWORD '${password}'`);
    const at = new Date().toISOString();
    const [crashed] = await admin('secret_rotations')
      .insert({
        target: 'database-url',
        trigger: 'manual',
        status: 'in_progress',
        step: 'set_password',
        steps: JSON.stringify([
          { step: 'add_version', outcome: 'started', at },
          { step: 'add_version', outcome: 'done', at },
          { step: 'set_password', outcome: 'started', at },
        ]),
        previous_versions: JSON.stringify({ 'database-url': before.version }),
        new_versions: JSON.stringify({ 'database-url': added.version }),
        lease_expires_at: admin.raw("now() - interval '1 second'"),
      })
      .returning('id');

    const report = await handle({ action: 'finish' });
    expect(report.recovered).toEqual(['database-url']);
    const [after] = (await rotations('database-url')).slice(-1);
    expect(after).toMatchObject({ id: crashed.id, status: 'rolled_back' });
    expect(after!.steps.filter((s) => s.outcome === 'undone').map((s) => s.step)).toEqual([
      'set_password',
      'add_version',
    ]);
    expect((await secretStore().latest('database-url')).value).toBe(before.value);
    expect(await refusal(before.value)).toBeUndefined();
    expect(await refusal(u.toString())).toBe('28P01');
    await dropIdleConnections();
    expect((await listJobs()).status).toBe(200);
  });
});

test('no password, token or key reached a line the rotation logged', async () => {
  const ours = new Set([
    'secret rotation',
    'secret rotation failed',
    'secret rotation due',
    'secret rotation message ignored',
  ]);
  const text = JSON.stringify(logged.filter((l) => ours.has((l as [string])[0])));
  expect(text).toContain('secret.rotation_failed');
  const values = [role.password, metricsToken];
  const store = secretStore();
  for (const secret of ['database-url', 'metrics-token', 'key-encryption-key']) {
    for (const v of await store.listVersions(secret)) {
      if (v.state !== 'enabled') await store.enableVersion(secret, v.version);
      const value = (await store.access(secret, v.version)).value;
      values.push(secret === 'database-url' ? decodeURIComponent(new URL(value).password) : value);
    }
  }
  for (const v of values) expect(text).not.toContain(v);
});
