import { randomBytes } from 'node:crypto';
import {
  KeyVersionUnknownError,
  localKeyEncryptionKey,
  open,
  rewrap,
  seal,
  withOlderKeys,
} from '../../shared/crypto/envelope';

const k1 = randomBytes(32);
const k2 = randomBytes(32);

it('seals with a fresh data key and opens for the same row only', async () => {
  const kek = localKeyEncryptionKey({ v1: k1 }, 'v1');
  const a = await seal(kek, Buffer.from('whsec_abc'), 'webhooks:1');
  const b = await seal(kek, Buffer.from('whsec_abc'), 'webhooks:1');
  expect(a.ciphertext).not.toBe(b.ciphertext);
  expect(a.data_key).not.toBe(b.data_key);
  expect(a.ciphertext).not.toContain('whsec');
  expect((await open(kek, a, 'webhooks:1')).toString()).toBe('whsec_abc');
  await expect(open(kek, a, 'webhooks:2')).rejects.toThrow();
});

it('opens old rows after the key-encryption key rotates, and refuses an unknown version', async () => {
  const old = await seal(localKeyEncryptionKey({ v1: k1 }, 'v1'), Buffer.from('secret'), 'c');
  const rotated = localKeyEncryptionKey({ v1: k1, v2: k2 }, 'v2');
  expect((await open(rotated, old, 'c')).toString()).toBe('secret');
  expect((await seal(rotated, Buffer.from('x'), 'c')).key_version).toBe('v2');
  await expect(open(localKeyEncryptionKey({ v2: k2 }, 'v2'), old, 'c')).rejects.toBeInstanceOf(KeyVersionUnknownError);
});

it('refuses a tampered ciphertext or wrapped key', async () => {
  const kek = localKeyEncryptionKey({ v1: k1 }, 'v1');
  const s = await seal(kek, Buffer.from('secret'), 'c');
  const flip = (b64: string) => {
    const b = Buffer.from(b64, 'base64');
    b[b.length - 1]! ^= 1;
    return b.toString('base64');
  };
  await expect(open(kek, { ...s, ciphertext: flip(s.ciphertext) }, 'c')).rejects.toThrow();
  await expect(open(kek, { ...s, data_key: flip(s.data_key) }, 'c')).rejects.toThrow();
});

it('re-wraps a data key under the current version, the ciphertext untouched', async () => {
  const old = await seal(localKeyEncryptionKey({ v1: k1 }, 'v1'), Buffer.from('secret'), 'webhooks:1');
  const rotated = localKeyEncryptionKey({ v1: k1, v2: k2 }, 'v2');
  const moved = await rewrap(rotated, old);
  expect(moved.key_version).toBe('v2');
  expect(moved.ciphertext).toBe(old.ciphertext);
  expect(moved.data_key).not.toBe(old.data_key);
  expect((await open(localKeyEncryptionKey({ v2: k2 }, 'v2'), moved, 'webhooks:1')).toString()).toBe('secret');
});

it('opens values of an older key beside the current one, and seals with the current one only', async () => {
  const legacy = localKeyEncryptionKey({ v1: k1 }, 'v1');
  const current = localKeyEncryptionKey({ 'kms/2': k2 }, 'kms/2');
  const both = withOlderKeys(current, legacy);
  const old = await seal(legacy, Buffer.from('before'), 'c');
  expect((await open(both, old, 'c')).toString()).toBe('before');
  const fresh = await seal(both, Buffer.from('after'), 'c');
  expect(fresh.key_version).toBe('kms/2');
  await expect(both.currentVersion()).resolves.toBe('kms/2');
  await expect(open(both, { ...old, key_version: 'v9' }, 'c')).rejects.toBeInstanceOf(KeyVersionUnknownError);
});
