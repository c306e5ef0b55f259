/**
 * The secret-rotator as it runs on Google Cloud: Secret Manager and Cloud KMS are fakes behind the
 * clients' interfaces (their `latest` alias and their version names as the services give them),
 * the database is real, connected as a role of the test's own. Secret Manager's notices, the keys
 * a provider issues, the KEK that KMS rotates by itself, and a rollback that leaves `latest`
 * naming a working value, as new function instances read it at start.
 */
import { randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import { resetConfig } from '../../shared/config';
import { localKeyEncryptionKey, open, seal, withOlderKeys, type Sealed } from '../../shared/crypto/envelope';
import { cloudKmsKeyEncryptionKey } from '../../shared/crypto/kms';
import { closeDb, connect, db } from '../../shared/db';
import { logger } from '../../shared/log';
import { resetPlatform } from '../../shared/platform';
import { secretManagerStore } from '../../shared/secrets';
import { databaseRotationBlocker } from '../../shared/secrets/rotation/database-password';
import type { RotationMessage } from '../../shared/secrets/rotation/orders';
import { rotateSecrets, type RotatorDeps } from '../../shared/secrets/rotation/rotator';
import type { StepName } from '../../shared/secrets/rotation/runner';
import { closeTestEnv, newTenantKey, useTestEnv, type TestEnv } from '../support/database';
import { assertPasswordsChecked, createLoginRole, type TestRole } from '../support/database-role';
import { FakeKms } from '../support/fake-kms';
import { FakeSecretManager } from '../support/fake-secret-manager';

const DAY = 86_400_000;
let env: TestEnv;
let admin: Knex;
let role: TestRole;
let sm: FakeSecretManager;
let kms: FakeKms;
const legacy = localKeyEncryptionKey({ v1: randomBytes(32) }, 'v1');

const store = () => secretManagerStore({ project: 'demo', client: sm, policy: { attempts: 2, backoffMs: 1 } });
const kek = () => withOlderKeys(cloudKmsKeyEncryptionKey({ keyName: kms.keyName, client: kms }), legacy);

function deps(failAfter?: StepName): RotatorDeps {
  return {
    k: db(),
    store: store(),
    kek: kek(),
    configured: {},
    periodDays: 90,
    graceSeconds: 0,
    thirdParty: ['elevenlabs-api-key', 'slack-webhook-url'],
    failAfter,
  };
}

let seq = 0;
const tick = (data: Record<string, unknown>, failAfter?: StepName) =>
  rotateSecrets(deps(failAfter), {
    messageId: `tick-${++seq}`,
    order:
      data.action === 'finish'
        ? { kind: 'finish' }
        : {
            kind: 'rotate',
            trigger: data.secret || data.force ? 'manual' : 'schedule',
            dryRun: Boolean(data.dry_run),
            force: Boolean(data.force),
            ...(data.secret ? { only: String(data.secret) } : {}),
          },
  });
const notice = (secret: string, messageId: string) =>
  rotateSecrets(deps(), { messageId, order: { kind: 'notice', secret } } satisfies RotationMessage);

/** What `latest` gives, as Terraform's `version = "latest"` gives it to a new instance. */
async function latestAlias(secret: string): Promise<string> {
  const [r] = await sm.accessSecretVersion({ name: `projects/demo/secrets/${secret}/versions/latest` }, {});
  return r.payload.data.toString();
}

const rotations = (target: string) => admin('secret_rotations').where({ target }).orderBy('started_at');

beforeAll(async () => {
  env = await useTestEnv();
  admin = connect(env.url, 1);
  role = await createLoginRole(admin, env.url);
  await assertPasswordsChecked(role);
  await closeDb();
  process.env.DATABASE_URL = role.url;
  resetConfig();
  resetPlatform();
  sm = new FakeSecretManager('demo');
  kms = new FakeKms();
  // What Terraform and the operator left a rotation period ago; the replica URL is the primary's
  // when the instance has no replica.
  sm.now = Date.now() - 100 * DAY - 60_000;
  sm.seed('database-url', role.url);
  sm.seed('database-replica-url', role.url);
  sm.seed('metrics-token', randomBytes(24).toString('hex'));
  sm.seed('elevenlabs-api-key', 'el-key-from-the-provider');
  sm.now = Date.now() - 10 * DAY - 60_000;
  sm.seed('slack-webhook-url', 'https://hooks.slack.com/services/T/B/x');
  sm.now = Date.now();
});

afterAll(async () => {
  await closeTestEnv();
  await role.drop();
  await admin.destroy();
});

test("the embedded server's bootstrap superuser is never rotated; an application role is", async () => {
  expect(await databaseRotationBlocker(admin)).toMatch(/superuser/);
  expect(await databaseRotationBlocker(db())).toBeUndefined();
});

test("Secret Manager's SECRET_ROTATE rotates the metrics token once, however often it is delivered", async () => {
  const first = await notice('metrics-token', 'sm-notice-1');
  expect(first.rotated).toEqual([{ target: 'metrics-token', outcome: 'pending' }]);
  // Delivered again: it rotates nothing, and (its grace period, none here, being over) the run
  // finishes the pending rotation, as any message does.
  const again = await notice('metrics-token', 'sm-notice-1');
  expect(again.rotated).toEqual([]);
  expect(again.skipped).toEqual([{ target: 'metrics-token', reason: 'this notice was handled already' }]);
  expect(again.continued).toEqual([{ target: 'metrics-token', outcome: 'completed' }]);
  expect((await tick({ action: 'finish' })).continued).toEqual([]);
  expect((await rotations('metrics-token')).map((r) => [r.trigger, r.status, r.message_id])).toEqual([
    ['notice', 'completed', 'sm-notice-1'],
  ]);
});

test('a notice for a key the provider issues says it is due, with its age', async () => {
  const warn = jest.spyOn(logger(), 'warn');
  const report = await notice('slack-webhook-url', 'sm-notice-2');
  expect(report.due).toEqual([{ target: 'slack-webhook-url', ageDays: 10, version: '1' }]);
  expect(warn).toHaveBeenCalledWith('secret rotation due', {
    event: 'secret.rotation_due',
    target: 'slack-webhook-url',
    ageDays: 10,
    version: '1',
  });
  warn.mockRestore();
});

describe('the quarterly tick', () => {
  beforeAll(async () => {
    const { tenantId } = await newTenantKey(db(), 'pro');
    // Rows sealed before KMS (the legacy key), and under the KMS version before a rotation.
    for (const [i, k] of [legacy, cloudKmsKeyEncryptionKey({ keyName: kms.keyName, client: kms })].entries()) {
      const id = randomBytes(16)
        .toString('hex')
        .replace(/(.{8})(.{4})(.{4})(.{4})(.{12})/, '$1-$2-$3-$4-$5');
      await db()('webhooks').insert({
        id,
        tenant_id: tenantId,
        url: `https://hooks.example.com/${i}`,
        events: ['job.completed'],
        signing: 'hmac',
        secret: JSON.stringify(await seal(k, Buffer.from(`key-${i}`), `webhooks:${id}`)),
      });
    }
    kms.rotate();
  });

  test('rotates the password in both URLs, re-wraps under the KMS primary, and reports the old provider key', async () => {
    const before = await latestAlias('database-url');
    const report = await tick({ action: 'rotate' });
    expect(report.rotated).toEqual([
      { target: 'database-url', outcome: 'pending' },
      { target: 'key-encryption-key', outcome: 'completed' },
    ]);
    expect(report.skipped).toEqual([{ target: 'metrics-token', reason: 'not due' }]);
    expect(report.due).toEqual([{ target: 'elevenlabs-api-key', ageDays: 100, version: '1' }]);

    const primary = await latestAlias('database-url');
    expect(primary).not.toBe(before);
    // The replica URL carries the same user, so the same new password.
    expect(new URL(await latestAlias('database-replica-url')).password).toBe(new URL(primary).password);

    const rows: { id: string; secret: Sealed }[] = await admin('webhooks').select('id', 'secret');
    expect(new Set(rows.map((r) => r.secret.key_version))).toEqual(new Set([kms.versionName(2)]));
    for (const r of rows) await expect(open(kek(), r.secret, `webhooks:${r.id}`)).resolves.toBeInstanceOf(Buffer);
    const [kekRotation] = await rotations('key-encryption-key');
    // Nothing to add: KMS made the version; the rotation is the re-wrap.
    expect(kekRotation.steps.map((s: { step: string }) => s.step)).toEqual(['reencrypt', 'reencrypt']);

    const finish = await tick({ action: 'finish' });
    expect(finish.continued).toEqual([{ target: 'database-url', outcome: 'completed' }]);
    const states = (await sm.listSecretVersions({ parent: 'projects/demo/secrets/database-url' }, {}))[0];
    expect(states.map((v) => [v.name.split('/').pop(), v.state])).toEqual([
      ['2', 'ENABLED'],
      ['1', 'DISABLED'],
    ]);
  });

  test('a second tick finds nothing due', async () => {
    const report = await tick({ action: 'rotate' });
    expect(report.rotated).toEqual([]);
    expect(report.skipped.map((s) => [s.target, s.reason])).toEqual([
      ['database-url', 'not due'],
      ['key-encryption-key', 'not due'],
      ['metrics-token', 'not due'],
    ]);
  });

  test('a forced KEK rotation is refused: KMS makes its versions', async () => {
    const report = await tick({ action: 'rotate', secret: 'key-encryption-key', force: true });
    expect(report.skipped).toEqual([{ target: 'key-encryption-key', reason: expect.stringContaining('gcloud kms') }]);
  });
});

test('a rollback leaves `latest` naming the value in use, for new instances and every reader', async () => {
  const primary = await latestAlias('database-url');
  const replica = await latestAlias('database-replica-url');
  const report = await tick({ action: 'rotate', secret: 'database-url', force: true }, 'verify');
  expect(report.rotated).toEqual([{ target: 'database-url', outcome: 'rolled_back' }]);
  expect(await latestAlias('database-url')).toBe(primary);
  expect(await latestAlias('database-replica-url')).toBe(replica);
  const check = connect(primary, 1);
  await expect(check.raw('SELECT 1')).resolves.toBeDefined();
  await check.destroy();
});

test('a dry run changes nothing in the store or the database', async () => {
  const calls = sm.calls.length;
  const rows = await admin('secret_rotations').select();
  const report = await tick({ action: 'rotate', dry_run: true });
  // The password's last rotation was rolled back: the next rotate order tries again.
  expect(report.wouldRotate).toEqual(['database-url']);
  expect(report.skipped).toEqual([
    { target: 'key-encryption-key', reason: 'not due' },
    { target: 'metrics-token', reason: 'not due' },
  ]);
  expect(sm.calls.slice(calls).map((c) => c.method)).not.toContain('addSecretVersion');
  expect(sm.calls.slice(calls).map((c) => c.method)).not.toContain('disableSecretVersion');
  expect(await admin('secret_rotations').select()).toEqual(rows);
});
