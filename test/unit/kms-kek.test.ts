import { randomBytes } from 'node:crypto';
import { KeyVersionUnknownError, open, rewrap, seal } from '../../shared/crypto/envelope';
import { cloudKmsKeyEncryptionKey, KeyServiceError, KeyServiceUnavailableError } from '../../shared/crypto/kms';
import { FakeKms } from '../support/fake-kms';
import { grpcError } from '../support/fake-secret-manager';

let kms: FakeKms;
const kek = () =>
  cloudKmsKeyEncryptionKey({ keyName: kms.keyName, client: kms, policy: { attempts: 3, backoffMs: 1 } });

beforeEach(() => {
  kms = new FakeKms();
});

describe('Cloud KMS key-encryption key: requests', () => {
  test('wraps with the crypto key, sending the CRC32C, and records the version KMS used', async () => {
    const dataKey = randomBytes(32);
    const { wrapped, version } = await kek().wrap(dataKey);
    expect(version).toBe(`${kms.keyName}/cryptoKeyVersions/1`);
    expect(wrapped.equals(dataKey)).toBe(false);
    const [call] = kms.calls;
    expect(call?.method).toBe('encrypt');
    expect(call?.request).toEqual({
      name: kms.keyName,
      plaintext: dataKey,
      plaintextCrc32c: { value: expect.any(Number) },
    });
    expect(call?.options).toEqual({ timeout: 10_000, retry: null });
  });

  test('unwraps with the crypto key (KMS finds the version from the ciphertext)', async () => {
    const dataKey = randomBytes(32);
    const { wrapped, version } = await kek().wrap(dataKey);
    expect((await kek().unwrap(wrapped, version)).equals(dataKey)).toBe(true);
    const decrypt = kms.calls.find((c) => c.method === 'decrypt');
    expect(decrypt?.request).toEqual({
      name: kms.keyName,
      ciphertext: wrapped,
      ciphertextCrc32c: { value: expect.any(Number) },
    });
  });

  test('after KMS rotates, old values open, new ones and re-wrapped ones carry the new version', async () => {
    const old = await seal(kek(), Buffer.from('whsec_old'), 'webhooks:1');
    const v2 = kms.rotate();
    await expect(kek().currentVersion()).resolves.toBe(v2);
    expect((await open(kek(), old, 'webhooks:1')).toString()).toBe('whsec_old');
    expect((await seal(kek(), Buffer.from('x'), 'c')).key_version).toBe(v2);
    const moved = await rewrap(kek(), old);
    expect(moved.key_version).toBe(v2);
    expect(moved.ciphertext).toBe(old.ciphertext);
    expect((await open(kek(), moved, 'webhooks:1')).toString()).toBe('whsec_old');
  });

  test('leaves a version of another key to someone else, without a call', async () => {
    await expect(kek().unwrap(randomBytes(60), 'v1')).rejects.toBeInstanceOf(KeyVersionUnknownError);
    expect(kms.calls).toEqual([]);
  });
});

describe('Cloud KMS key-encryption key: retries and errors', () => {
  test('retries passing trouble', async () => {
    kms.failNext('encrypt', grpcError(14, 'unavailable'), grpcError(8, 'quota'));
    await expect(kek().wrap(randomBytes(32))).resolves.toMatchObject({ version: expect.stringContaining('/1') });
    expect(kms.count('encrypt')).toBe(3);
  });

  test('sends again a data key KMS did not get whole', async () => {
    kms.unverifiedPlaintext = 1;
    await expect(kek().wrap(randomBytes(32))).resolves.toBeDefined();
    expect(kms.count('encrypt')).toBe(2);
  });

  test('says the key service is unavailable once the attempts are spent (503 on a request path)', async () => {
    kms.failNext('decrypt', ...[1, 2, 3].map(() => grpcError(14, 'unavailable')));
    const { wrapped, version } = await kek().wrap(randomBytes(32));
    const err = await kek()
      .unwrap(wrapped, version)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KeyServiceUnavailableError);
    expect((err as KeyServiceUnavailableError).code).toBe('key_service_unavailable');
    expect(kms.count('decrypt')).toBe(3);
  });

  test.each([
    [7, 'permission denied'],
    [9, 'a disabled version'],
    [3, 'an invalid ciphertext'],
  ])('maps gRPC %i (%s) to a refusal at once', async (code) => {
    const { wrapped, version } = await kek().wrap(randomBytes(32));
    kms.failNext('decrypt', grpcError(code, 'refused'));
    await expect(kek().unwrap(wrapped, version)).rejects.toBeInstanceOf(KeyServiceError);
    expect(kms.count('decrypt')).toBe(1);
  });

  test('a value under a disabled version does not open', async () => {
    const sealed = await seal(kek(), Buffer.from('s'), 'c');
    kms.rotate();
    kms.disable(1);
    await expect(open(kek(), sealed, 'c')).rejects.toBeInstanceOf(KeyServiceError);
  });
});
