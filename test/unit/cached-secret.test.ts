import { cachedSecret, SecretNotFoundError, SecretStoreUnavailableError, type SecretStore } from '../../shared/secrets';

/** A store whose latest value the test sets, counting reads; `fail` makes the next reads throw it. */
function store(initial?: string) {
  const s = { value: initial, reads: 0, fail: undefined as Error | undefined };
  const api: Pick<SecretStore, 'latest'> = {
    async latest() {
      s.reads++;
      if (s.fail) throw s.fail;
      if (s.value === undefined) throw new SecretNotFoundError('no version');
      return { version: '1', value: s.value };
    },
  };
  return { s, api: api as SecretStore };
}

test('starts from the environment value without reading the store, and reads it in the background once the TTL is over', async () => {
  let now = 0;
  const { s, api } = store('from-store');
  const secret = cachedSecret(api, 'database-url', { initial: 'from-env', ttlMs: 60_000, now: () => now });
  await expect(secret.get()).resolves.toBe('from-env');
  expect(s.reads).toBe(0);
  now = 59_999;
  await expect(secret.get()).resolves.toBe('from-env');
  now = 60_000;
  expect(secret.stale()).toBe(true);
  // The caller is not kept waiting for the store: it gets the value in hand, the read goes on.
  await expect(secret.get()).resolves.toBe('from-env');
  await new Promise((resolve) => setImmediate(resolve));
  await expect(secret.get()).resolves.toBe('from-store');
  expect(s.reads).toBe(1);
});

test('without a value in hand, the first read is waited for', async () => {
  const { s, api } = store('from-store');
  await expect(cachedSecret(api, 'metrics-token', { ttlMs: 1000 }).get()).resolves.toBe('from-store');
  expect(s.reads).toBe(1);
});

test('a refresh reads at once, and a burst of refreshes is one read', async () => {
  let now = 0;
  const { s, api } = store('rotated');
  const secret = cachedSecret(api, 'database-url', { initial: 'old', ttlMs: 60_000, now: () => now });
  const burst = await Promise.all([secret.refresh(), secret.refresh(), secret.refresh()]);
  expect(burst).toEqual(['rotated', 'rotated', 'rotated']);
  await secret.refresh();
  expect(s.reads).toBe(1);
  now = 1000;
  s.value = 'rotated-again';
  await expect(secret.refresh()).resolves.toBe('rotated-again');
  expect(s.reads).toBe(2);
});

test('keeps the value in use when the store fails or holds no version yet', async () => {
  let now = 0;
  const { s, api } = store(undefined);
  const secret = cachedSecret(api, 'database-url', { initial: 'from-env', ttlMs: 1000, now: () => now });
  const settled = () => new Promise((resolve) => setImmediate(resolve));
  now = 1000;
  await expect(secret.get()).resolves.toBe('from-env');
  await settled();
  s.fail = new SecretStoreUnavailableError('down');
  now = 2000;
  await expect(secret.get()).resolves.toBe('from-env');
  await settled();
  // A failed read counts as a read: the next try waits for the TTL instead of every call waiting on it.
  expect(secret.stale()).toBe(false);
  expect(s.reads).toBe(2);
  s.fail = undefined;
  s.value = 'from-store';
  now = 3000;
  await secret.get();
  await settled();
  await expect(secret.get()).resolves.toBe('from-store');
});

test('without an environment value, a store that fails fails the read', async () => {
  const { s, api } = store(undefined);
  s.fail = new SecretStoreUnavailableError('down');
  await expect(cachedSecret(api, 'metrics-token', { ttlMs: 1000 }).get()).rejects.toBeInstanceOf(
    SecretStoreUnavailableError,
  );
});
