import {
  SecretAccessDeniedError,
  secretManagerStore,
  SecretNotFoundError,
  SecretStoreError,
  SecretStoreUnavailableError,
  SecretVersionDisabledError,
} from '../../shared/secrets';
import { FakeSecretManager, grpcError } from '../support/fake-secret-manager';

let sm: FakeSecretManager;
const store = () => secretManagerStore({ project: 'demo', client: sm, policy: { attempts: 3, backoffMs: 1 } });

beforeEach(() => {
  sm = new FakeSecretManager('demo');
  sm.seed('database-url', 'postgres://u:one@db/x', 'postgres://u:two@db/x');
});

describe('Secret Manager store: requests', () => {
  test('reads the latest version by its resource name, with a deadline and the library retries off', async () => {
    await expect(store().latest('database-url')).resolves.toEqual({ version: '2', value: 'postgres://u:two@db/x' });
    expect(sm.calls).toEqual([
      {
        method: 'accessSecretVersion',
        request: { name: 'projects/demo/secrets/database-url/versions/latest' },
        options: { timeout: 10_000, retry: null },
      },
    ]);
  });

  test('reads one version by number', async () => {
    await expect(store().access('database-url', '1')).resolves.toEqual({
      version: '1',
      value: 'postgres://u:one@db/x',
    });
    expect(sm.calls[0]?.request).toEqual({ name: 'projects/demo/secrets/database-url/versions/1' });
  });

  test('adds a version with the payload and its CRC32C, and answers its number, state and creation time', async () => {
    const added = await store().addVersion('database-url', 'postgres://u:three@db/x');
    expect(added).toEqual({
      secret: 'database-url',
      version: '3',
      state: 'enabled',
      createdAt: expect.any(Date),
    });
    const request = sm.calls[0]?.request as { parent: string; payload: { data: Buffer; dataCrc32c: number } };
    expect(request.parent).toBe('projects/demo/secrets/database-url');
    expect(request.payload.data.toString()).toBe('postgres://u:three@db/x');
    expect(request.payload.dataCrc32c).toEqual(expect.any(Number));
    await expect(store().latest('database-url')).resolves.toEqual({ version: '3', value: 'postgres://u:three@db/x' });
  });

  test('lists versions newest first with their state and creation time', async () => {
    sm.setState('database-url', 1, 'DISABLED');
    const versions = await store().listVersions('database-url');
    expect(versions.map((v) => [v.version, v.state])).toEqual([
      ['2', 'enabled'],
      ['1', 'disabled'],
    ]);
    expect(versions[0]!.createdAt.getTime()).toBeGreaterThan(versions[1]!.createdAt.getTime());
    expect(versions[0]!.createdAt.getUTCFullYear()).toBe(2025);
  });

  test('disables and enables a version by its resource name', async () => {
    await store().disableVersion('database-url', '1');
    await expect(store().access('database-url', '1')).rejects.toBeInstanceOf(SecretVersionDisabledError);
    await store().enableVersion('database-url', '1');
    await expect(store().access('database-url', '1')).resolves.toMatchObject({ version: '1' });
    expect(sm.calls.filter((c) => c.method !== 'accessSecretVersion').map((c) => [c.method, c.request])).toEqual([
      ['disableSecretVersion', { name: 'projects/demo/secrets/database-url/versions/1' }],
      ['enableSecretVersion', { name: 'projects/demo/secrets/database-url/versions/1' }],
    ]);
  });

  test('takes the newest enabled version when the newest one is disabled', async () => {
    sm.setState('database-url', 2, 'DISABLED');
    await expect(store().latest('database-url')).resolves.toEqual({ version: '1', value: 'postgres://u:one@db/x' });
    expect(sm.calls.map((c) => c.method)).toEqual(['accessSecretVersion', 'listSecretVersions', 'accessSecretVersion']);
  });

  test('refuses a secret id or version that could name another resource, without a call', async () => {
    await expect(store().latest('../other')).rejects.toBeInstanceOf(SecretStoreError);
    await expect(store().access('database-url', '1/../../x')).rejects.toBeInstanceOf(SecretNotFoundError);
    expect(sm.calls).toEqual([]);
  });
});

describe('Secret Manager store: retries', () => {
  test('retries reads through passing trouble', async () => {
    sm.failNext('accessSecretVersion', grpcError(14, 'unavailable'), grpcError(4, 'deadline'));
    await expect(store().latest('database-url')).resolves.toMatchObject({ version: '2' });
    expect(sm.count('accessSecretVersion')).toBe(3);
  });

  test('reads again a payload damaged on the way', async () => {
    sm.corruptReads = 1;
    await expect(store().latest('database-url')).resolves.toMatchObject({ value: 'postgres://u:two@db/x' });
    expect(sm.count('accessSecretVersion')).toBe(2);
  });

  test('retries an add only when Secret Manager says it did nothing, never after a timeout', async () => {
    sm.failNext('addSecretVersion', grpcError(14, 'unavailable'));
    await expect(store().addVersion('database-url', 'a')).resolves.toMatchObject({ version: '3' });
    expect(sm.count('addSecretVersion')).toBe(2);

    sm.failNext('addSecretVersion', grpcError(4, 'deadline exceeded'));
    await expect(store().addVersion('database-url', 'b')).rejects.toBeInstanceOf(SecretStoreUnavailableError);
    expect(sm.count('addSecretVersion')).toBe(3);
  });

  test('stops after the attempts and says the store is unavailable', async () => {
    sm.failNext('accessSecretVersion', ...[1, 2, 3].map(() => grpcError(14, 'unavailable')));
    const err = await store()
      .latest('database-url')
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SecretStoreUnavailableError);
    expect((err as SecretStoreUnavailableError).code).toBe('secret_store_unavailable');
    expect(sm.count('accessSecretVersion')).toBe(3);
  });
});

describe('Secret Manager store: errors', () => {
  test.each([
    [5, SecretNotFoundError],
    [7, SecretAccessDeniedError],
    [16, SecretAccessDeniedError],
    [9, SecretVersionDisabledError],
    [3, SecretStoreError],
  ])('maps gRPC %i at once, without retrying', async (code, type) => {
    sm.failNext('accessSecretVersion', grpcError(code, 'refused'));
    await expect(store().access('database-url', '1')).rejects.toBeInstanceOf(type);
    expect(sm.count('accessSecretVersion')).toBe(1);
  });

  test('an unknown secret is not found', async () => {
    await expect(store().latest('nope')).rejects.toBeInstanceOf(SecretNotFoundError);
  });

  test('a secret whose every version is disabled has no latest value', async () => {
    sm.setState('database-url', 1, 'DISABLED');
    sm.setState('database-url', 2, 'DESTROYED');
    await expect(store().latest('database-url')).rejects.toBeInstanceOf(SecretNotFoundError);
  });
});
