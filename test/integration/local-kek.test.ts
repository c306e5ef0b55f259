/**
 * The local key-encryption key, its versions in the local secret store on disk: two instances
 * stand for two processes of the local stack sharing the data dir.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KeyVersionUnknownError, open, rewrap, seal } from '../../shared/crypto/envelope';
import { storeKeyEncryptionKey } from '../../shared/crypto/local-kek';
import { localSecretStore } from '../../shared/secrets';

const seedKey = randomBytes(32).toString('base64');
let now = 0;
let dir: string;
const kek = () =>
  storeKeyEncryptionKey({
    store: localSecretStore(dir),
    secret: 'key-encryption-key',
    ttlMs: 60_000,
    seed: () => seedKey,
    now: () => now,
  });

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'aiprod-kek-'));
  now = 0;
});

test('the first use seeds version v1 with the configured key, so values sealed with it before still open', async () => {
  const a = kek();
  await expect(a.currentVersion()).resolves.toBe('v1');
  expect((await localSecretStore(dir).access('key-encryption-key', '1')).value).toBe(seedKey);
  const sealed = await seal(a, Buffer.from('whsec_1'), 'webhooks:1');
  expect(sealed.key_version).toBe('v1');
});

test('a rotation in one process: it seals with the new version, the other opens it at once and seals with it after the TTL', async () => {
  const rotator = kek();
  const other = kek();
  const before = await seal(other, Buffer.from('before'), 'c');
  await expect(rotator.addVersion()).resolves.toBe('v2');
  const after = await seal(rotator, Buffer.from('after'), 'c');
  expect(after.key_version).toBe('v2');

  // The other process has not looked again: a v2 value makes it look.
  expect((await open(other, after, 'c')).toString()).toBe('after');
  expect((await open(other, before, 'c')).toString()).toBe('before');
  now += 60_000;
  expect((await seal(other, Buffer.from('x'), 'c')).key_version).toBe('v2');

  const moved = await rewrap(other, before);
  expect(moved.key_version).toBe('v2');
  expect((await open(rotator, moved, 'c')).toString()).toBe('before');
});

test('a disabled version no longer opens what it sealed', async () => {
  const a = kek();
  const sealed = await seal(a, Buffer.from('s'), 'c');
  await a.addVersion();
  await localSecretStore(dir).disableVersion('key-encryption-key', '1');
  await expect(open(kek(), sealed, 'c')).rejects.toBeInstanceOf(KeyVersionUnknownError);
});
