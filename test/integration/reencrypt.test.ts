/**
 * `npm run reencrypt` on a real database: after a KEK rotation old rows still open, a pass moves
 * every sealed value to the current version, an interrupted pass continues where it stopped, and
 * a second run changes nothing. Locally with the local store's KEK versions; then as on Google
 * Cloud, from the key used before KMS to KMS versions (a fake KMS), and across a KMS rotation.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Knex } from 'knex';
import {
  localKeyEncryptionKey,
  open,
  seal,
  withOlderKeys,
  type KeyEncryptionKey,
  type Sealed,
} from '../../shared/crypto/envelope';
import { cloudKmsKeyEncryptionKey } from '../../shared/crypto/kms';
import { storeKeyEncryptionKey } from '../../shared/crypto/local-kek';
import { reencrypt } from '../../shared/crypto/reencrypt';
import { keyEncryptionKey, localKeyEncryptionKeyVersions } from '../../shared/platform';
import { localSecretsDir, localSecretStore } from '../../shared/secrets';
import { closeTestEnv, newTenantKey, useTestEnv, type TestEnv } from '../support/database';
import { FakeKms } from '../support/fake-kms';
import { insertWebhook } from '../support/webhook-fixtures';

const run = promisify(execFile);
let env: TestEnv;
let tenantId: string;

interface Stored {
  id: string;
  secret: Sealed;
  previous_secret: Sealed | null;
}

const rows = (k: Knex): Promise<Stored[]> => k('webhooks').select('id', 'secret', 'previous_secret').orderBy('id');

/** Every sealed value of every webhook, opened with `kek`, by webhook id. */
async function opened(kek: KeyEncryptionKey): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const r of await rows(env.db)) {
    const values = [r.secret, r.previous_secret].filter((s): s is Sealed => s !== null);
    out[r.id] = await Promise.all(values.map(async (s) => (await open(kek, s, `webhooks:${r.id}`)).toString('base64')));
  }
  return out;
}

const versions = async (): Promise<string[]> =>
  (await rows(env.db)).flatMap((r) => [
    r.secret.key_version,
    ...(r.previous_secret ? [r.previous_secret.key_version] : []),
  ]);

beforeAll(async () => {
  env = await useTestEnv();
  ({ tenantId } = await newTenantKey(env.db));
});

afterAll(closeTestEnv);

describe('locally, with the KEK versions of the local secret store', () => {
  let before: Record<string, string[]>;

  beforeAll(async () => {
    for (let i = 0; i < 7; i++) {
      await insertWebhook(env.db, { tenantId, url: `https://hooks.example.com/${i}`, rotating: i % 2 === 0 });
    }
    before = await opened(keyEncryptionKey());
    expect(new Set(await versions())).toEqual(new Set(['v1']));
    await expect(localKeyEncryptionKeyVersions()!.addVersion()).resolves.toBe('v2');
  });

  test('after the rotation old rows still open, and a dry run counts what is due and changes nothing', async () => {
    expect(await opened(keyEncryptionKey())).toEqual(before);
    const snapshot = await rows(env.db);
    const report = await reencrypt(env.db, keyEncryptionKey(), { dryRun: true });
    expect(report).toMatchObject({ targetVersion: 'v2', dryRun: true, interrupted: false });
    expect(report.tables).toEqual([{ table: 'webhooks', due: 7, rewrapped: 0, failed: 0, byVersion: { v1: 11 } }]);
    expect(await rows(env.db)).toEqual(snapshot);
    expect(await env.db('reencrypt_progress').count({ n: '*' })).toEqual([{ n: '0' }]);
  });

  test('an interrupted pass stops after its batch, and the next one continues after it and finishes', async () => {
    const stop = new AbortController();
    const first = await reencrypt(env.db, keyEncryptionKey(), {
      batchSize: 2,
      signal: stop.signal,
      onBatch: () => stop.abort(),
    });
    expect(first.interrupted).toBe(true);
    expect(first.tables[0]).toMatchObject({ rewrapped: 2, failed: 0 });
    const ids = (await rows(env.db)).map((r) => r.id);
    expect((await versions()).filter((v) => v === 'v2').length).toBeGreaterThanOrEqual(2);
    expect(await env.db('reencrypt_progress').first()).toMatchObject({
      table_name: 'webhooks',
      target_version: 'v2',
      last_key: ids[1],
      rewrapped: '2',
      completed_at: null,
    });

    const second = await reencrypt(env.db, keyEncryptionKey(), { batchSize: 2 });
    expect(second.interrupted).toBe(false);
    expect(second.tables[0]).toMatchObject({ resumedAfter: ids[1], rewrapped: 5, failed: 0 });
    expect(new Set(await versions())).toEqual(new Set(['v2']));
    expect(await env.db('reencrypt_progress').first()).toMatchObject({
      rewrapped: '7',
      completed_at: expect.any(Date),
    });

    // Moved for real: a KEK that has only v2 opens every value, to what it was.
    await localSecretStore(localSecretsDir()).disableVersion('key-encryption-key', '1');
    const v2Only = storeKeyEncryptionKey({
      store: localSecretStore(localSecretsDir()),
      secret: 'key-encryption-key',
      ttlMs: 60_000,
      seed: () => {
        throw new Error('the store has versions');
      },
    });
    expect(await opened(v2Only)).toEqual(before);
    await localSecretStore(localSecretsDir()).enableVersion('key-encryption-key', '1');
  });

  test('a run with nothing to do changes nothing, not even its own progress', async () => {
    const snapshot = await rows(env.db);
    const progress = await env.db('reencrypt_progress').select();
    const report = await reencrypt(env.db, keyEncryptionKey(), { batchSize: 2 });
    expect(report.tables[0]).toMatchObject({ due: 0, rewrapped: 0, failed: 0 });
    expect(await rows(env.db)).toEqual(snapshot);
    expect(await env.db('reencrypt_progress').select()).toEqual(progress);
  });

  test('two passes at once leave every value whole and at the current version', async () => {
    await localKeyEncryptionKeyVersions()!.addVersion();
    const [a, b] = await Promise.all([
      reencrypt(env.db, keyEncryptionKey(), { batchSize: 3 }),
      reencrypt(env.db, keyEncryptionKey(), { batchSize: 3 }),
    ]);
    expect(a.targetVersion).toBe('v3');
    // Each row is written by one of them: the other's conditional write finds it changed.
    expect(a.tables[0]!.rewrapped + b.tables[0]!.rewrapped).toBe(7);
    expect(new Set(await versions())).toEqual(new Set(['v3']));
    expect(await opened(keyEncryptionKey())).toEqual(before);
  });

  test('the npm script: a dry run reports, a run moves everything and says so', async () => {
    await localKeyEncryptionKeyVersions()!.addVersion();
    const script = join(__dirname, '../../scripts/reencrypt.ts');
    const childEnv = { ...process.env, DATABASE_URL: env.url, AIPROD_DATA_DIR: env.dataDir };
    const dry = await run(process.execPath, ['--import', 'tsx', script, '--dry-run'], { env: childEnv });
    expect(dry.stdout).toContain('current key-encryption key version: v4');
    expect(dry.stdout).toContain('webhooks: 7 rows to re-wrap (11 under v3)');
    const real = await run(process.execPath, ['--import', 'tsx', script, '--batch-size', '3'], { env: childEnv });
    expect(real.stdout).toContain('webhooks: 7 re-wrapped, 0 failed');
    expect(real.stdout).toContain('every sealed value is at the current version');
    expect(new Set(await versions())).toEqual(new Set(['v4']));
    await expect(
      run(process.execPath, ['--import', 'tsx', script, '--batch-size', 'x'], { env: childEnv }),
    ).rejects.toMatchObject({
      code: 2,
    });
  }, 60_000);
});

describe('as on Google Cloud: from the key used before KMS to KMS versions', () => {
  test('legacy v1 rows move to the KMS primary, and after KMS rotates, to its new primary', async () => {
    await env.db('webhooks').delete();
    const legacy = localKeyEncryptionKey({ v1: Buffer.alloc(32, 7) }, 'v1');
    for (let i = 0; i < 5; i++) {
      await insertWebhook(env.db, { tenantId, url: `https://hooks.example.com/g${i}`, rotating: i === 0 });
    }
    // Re-seal what the fixture wrote under the legacy key, as rows written before KMS are.
    for (const r of await rows(env.db)) {
      const reseal = async (s: Sealed | null) =>
        s &&
        JSON.stringify(await seal(legacy, await open(keyEncryptionKey(), s, `webhooks:${r.id}`), `webhooks:${r.id}`));
      await env
        .db('webhooks')
        .where({ id: r.id })
        .update({ secret: await reseal(r.secret), previous_secret: await reseal(r.previous_secret) });
    }
    expect(new Set(await versions())).toEqual(new Set(['v1']));
    const before = await opened(legacy);

    const kms = new FakeKms();
    const kek = withOlderKeys(cloudKmsKeyEncryptionKey({ keyName: kms.keyName, client: kms }), legacy);
    const first = await reencrypt(env.db, kek, { batchSize: 2 });
    expect(first.targetVersion).toBe(kms.versionName(1));
    expect(first.tables[0]).toMatchObject({ rewrapped: 5, failed: 0 });
    expect(new Set(await versions())).toEqual(new Set([kms.versionName(1)]));
    expect(await opened(cloudKmsKeyEncryptionKey({ keyName: kms.keyName, client: kms }))).toEqual(before);

    kms.rotate();
    const second = await reencrypt(env.db, kek, { batchSize: 2 });
    expect(second.targetVersion).toBe(kms.versionName(2));
    expect(second.tables[0]).toMatchObject({ rewrapped: 5 });
    expect(new Set(await versions())).toEqual(new Set([kms.versionName(2)]));
    kms.disable(1);
    expect(await opened(kek)).toEqual(before);
  });
});
