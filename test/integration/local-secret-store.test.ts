/**
 * The local secret store on a real file system, written by several processes at once as the local
 * stack's processes (and `npm run` commands beside them) do.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  localSecretStore,
  SecretNotFoundError,
  SecretStoreError,
  SecretVersionDisabledError,
} from '../../shared/secrets';

const run = promisify(execFile);
let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'aiprod-secrets-'));
});

test('versions are numbered from 1, the newest enabled one is the latest, a disabled one cannot be read', async () => {
  const store = localSecretStore(dir);
  await expect(store.latest('metrics-token')).rejects.toBeInstanceOf(SecretNotFoundError);
  expect((await store.addVersion('metrics-token', 'first')).version).toBe('1');
  const second = await store.addVersion('metrics-token', 'second');
  expect(second).toMatchObject({ secret: 'metrics-token', version: '2', state: 'enabled' });
  await expect(store.latest('metrics-token')).resolves.toEqual({ version: '2', value: 'second' });

  await store.disableVersion('metrics-token', '2');
  await expect(store.latest('metrics-token')).resolves.toEqual({ version: '1', value: 'first' });
  await expect(store.access('metrics-token', '2')).rejects.toBeInstanceOf(SecretVersionDisabledError);
  expect((await store.listVersions('metrics-token')).map((v) => [v.version, v.state])).toEqual([
    ['2', 'disabled'],
    ['1', 'enabled'],
  ]);

  await store.enableVersion('metrics-token', '2');
  await expect(store.access('metrics-token', '2')).resolves.toEqual({ version: '2', value: 'second' });
  await expect(store.access('metrics-token', '3')).rejects.toBeInstanceOf(SecretNotFoundError);
});

test('keeps every file readable by this user only', async () => {
  const store = localSecretStore(join(dir, 'secrets'));
  await store.addVersion('database-url', 'postgres://u:p@h/d');
  await store.disableVersion('database-url', '1');
  const secretDir = join(dir, 'secrets', 'database-url');
  expect(statSync(secretDir).mode & 0o777).toBe(0o700);
  expect(readdirSync(secretDir)).toEqual(['1.json']);
  expect(statSync(join(secretDir, '1.json')).mode & 0o777).toBe(0o600);
});

test('refuses a secret id that would leave its directory', async () => {
  await expect(localSecretStore(dir).addVersion('../escape', 'x')).rejects.toBeInstanceOf(SecretStoreError);
  expect(readdirSync(dir)).toEqual([]);
});

test('processes adding versions at once each get their own numbers, and every version is whole', async () => {
  const child = join(__dirname, '../support/secret-store-child.ts');
  const writers = ['a', 'b', 'c', 'd'];
  const outputs = await Promise.all(
    writers.map((label) =>
      run(process.execPath, ['--import', 'tsx', child, dir, 'shared-secret', label, '15'], { encoding: 'utf8' }),
    ),
  );
  const numbers = outputs.flatMap((o) => JSON.parse(o.stdout) as string[]).map(Number);
  expect(numbers.sort((x, y) => x - y)).toEqual(Array.from({ length: 60 }, (_, i) => i + 1));

  const store = localSecretStore(dir);
  const values = await Promise.all(numbers.map(async (n) => (await store.access('shared-secret', String(n))).value));
  expect(values.sort()).toEqual(writers.flatMap((l) => Array.from({ length: 15 }, (_, i) => `${l}-${i}`)).sort());
  // No temporary file is left behind.
  expect(readdirSync(join(dir, 'shared-secret')).filter((f) => !/^\d+\.json$/.test(f))).toEqual([]);
}, 60_000);
