/**
 * The secret store on Google Cloud: Secret Manager. Payloads travel with their CRC32C both ways.
 * `latest` is the newest *enabled* version: Secret Manager's own `latest` alias names the newest
 * version whatever its state, and refuses to read it when it is disabled.
 */
import type { SecretManagerServiceClient } from '@google-cloud/secret-manager';
import { checksumValue, crc32c } from '../crypto/crc32c';
import { isTransientError } from '../resilience/transient';
import {
  callOptions,
  ChecksumMismatchError,
  DEFAULT_CALL_POLICY,
  errorWords,
  grpcCode,
  timestampDate,
  withRetries,
  type CallPolicy,
  type Retry,
} from './google-calls';
import {
  assertSecretId,
  newestFirst,
  SecretAccessDeniedError,
  SecretNotFoundError,
  SecretStoreError,
  SecretStoreUnavailableError,
  SecretVersionDisabledError,
  type SecretStore,
  type SecretVersion,
  type SecretVersionState,
} from './store';

interface Payload {
  data?: Uint8Array | string | null;
  dataCrc32c?: unknown;
}

interface VersionResource {
  name?: string | null;
  createTime?: { seconds?: unknown; nanos?: unknown } | null;
  state?: unknown;
}

type Options = ReturnType<typeof callOptions>;

/** The calls of SecretManagerServiceClient the store makes, as it answers them. */
export interface SecretManagerApi {
  accessSecretVersion(
    request: { name: string },
    options: Options,
  ): Promise<[{ name?: string | null; payload?: Payload | null }, ...unknown[]]>;
  addSecretVersion(
    request: { parent: string; payload: { data: Buffer; dataCrc32c: number } },
    options: Options,
  ): Promise<[VersionResource, ...unknown[]]>;
  listSecretVersions(request: { parent: string }, options: Options): Promise<[VersionResource[], ...unknown[]]>;
  enableSecretVersion(request: { name: string }, options: Options): Promise<[VersionResource, ...unknown[]]>;
  disableSecretVersion(request: { name: string }, options: Options): Promise<[VersionResource, ...unknown[]]>;
}

export interface SecretManagerStoreOptions {
  project: string;
  /** A ready client; otherwise one is made on first use with Application Default Credentials. */
  client?: SecretManagerApi;
  policy?: Partial<CallPolicy>;
}

/** The client, loaded on first use: gRPC and the generated stubs are a large part of a cold start. */
function defaultClient(): SecretManagerApi {
  const { SecretManagerServiceClient: Client } =
    require('@google-cloud/secret-manager') as typeof import('@google-cloud/secret-manager');
  return new Client() as SecretManagerServiceClient as unknown as SecretManagerApi;
}

/** SecretVersion.State, as a number or as its name. */
function stateOf(state: unknown): SecretVersionState {
  if (state === 1 || state === 'ENABLED') return 'enabled';
  if (state === 2 || state === 'DISABLED') return 'disabled';
  return 'destroyed';
}

const versionId = (name: string | null | undefined): string => {
  const id = /\/versions\/([^/]+)$/.exec(name ?? '')?.[1];
  if (!id) throw new SecretStoreError(`Secret Manager answered without a version name (${String(name)})`);
  return id;
};

function payloadValue(secret: string, payload: Payload | null | undefined): string {
  const data = payload?.data;
  if (data === null || data === undefined) throw new SecretStoreError(`Secret Manager returned ${secret} without data`);
  // Bytes come as a Buffer over gRPC and as base64 text (proto3 JSON) over REST.
  const bytes = typeof data === 'string' ? Buffer.from(data, 'base64') : Buffer.from(data);
  const expected = checksumValue(payload?.dataCrc32c);
  if (expected !== undefined && expected !== crc32c(bytes)) {
    throw new ChecksumMismatchError(`the payload of ${secret} arrived damaged (CRC32C mismatch)`);
  }
  return bytes.toString('utf8');
}

/** Maps what the library threw (after the retries) to the store's errors; the store's own pass through. */
function mapped(err: unknown, what: string): Error {
  if (err instanceof SecretStoreError || err instanceof SecretNotFoundError) return err;
  const words = errorWords(err);
  const code = grpcCode(err);
  switch (code) {
    case 5:
      return new SecretNotFoundError(`${what}: not found (${words})`);
    case 9:
      return new SecretVersionDisabledError(`${what}: the version is not enabled (${words})`);
    case 7:
    case 16:
      return new SecretAccessDeniedError(`${what}: permission denied (${words})`);
  }
  // No status at all is a transport failure: the service was not reached.
  if (err instanceof ChecksumMismatchError || isTransientError(err) || code === undefined) {
    return new SecretStoreUnavailableError(`${what}: Secret Manager is unavailable (${words})`, { cause: err });
  }
  return new SecretStoreError(`${what}: ${words}`);
}

export function secretManagerStore(opts: SecretManagerStoreOptions): SecretStore {
  const policy: CallPolicy = { ...DEFAULT_CALL_POLICY, ...opts.policy };
  let client = opts.client;
  const api = (): SecretManagerApi => (client ??= defaultClient());
  const secretName = (secret: string): string => {
    assertSecretId(secret);
    return `projects/${opts.project}/secrets/${secret}`;
  };
  const versionName = (secret: string, version: string): string => {
    if (!/^(latest|[1-9][0-9]*)$/.test(version)) throw new SecretNotFoundError(`${secret} has no version ${version}`);
    return `${secretName(secret)}/versions/${version}`;
  };

  async function call<T>(what: string, kind: Retry, fn: (c: SecretManagerApi) => Promise<T>): Promise<T> {
    try {
      return await withRetries(policy, kind, () => fn(api()));
    } catch (err) {
      throw mapped(err, what);
    }
  }

  const describe = (secret: string, v: VersionResource): SecretVersion => ({
    secret,
    version: versionId(v.name),
    state: stateOf(v.state),
    createdAt: timestampDate(v.createTime),
  });

  async function access(secret: string, version: string) {
    const name = versionName(secret, version);
    return call(`reading ${secret} version ${version}`, 'idempotent', async (c) => {
      const [response] = await c.accessSecretVersion({ name }, callOptions(policy));
      return { version: versionId(response.name), value: payloadValue(secret, response.payload) };
    });
  }

  async function listVersions(secret: string): Promise<SecretVersion[]> {
    const parent = secretName(secret);
    const [versions] = await call(`listing the versions of ${secret}`, 'idempotent', (c) =>
      c.listSecretVersions({ parent }, callOptions(policy)),
    );
    return versions.map((v) => describe(secret, v)).sort(newestFirst);
  }

  return {
    async latest(secret) {
      try {
        return await access(secret, 'latest');
      } catch (err) {
        // The newest version is disabled (a rotation rolled back by hand, say): the newest enabled one.
        if (!(err instanceof SecretVersionDisabledError)) throw err;
        const enabled = (await listVersions(secret)).find((v) => v.state === 'enabled');
        if (!enabled) throw new SecretNotFoundError(`${secret} has no enabled version`);
        return access(secret, enabled.version);
      }
    },

    access,

    async addVersion(secret, value) {
      const parent = secretName(secret);
      const data = Buffer.from(value, 'utf8');
      // Not idempotent: a retry after a timeout could add a second version.
      const [created] = await call(`adding a version to ${secret}`, 'not-idempotent', (c) =>
        c.addSecretVersion({ parent, payload: { data, dataCrc32c: crc32c(data) } }, callOptions(policy)),
      );
      return describe(secret, created);
    },

    listVersions,

    async enableVersion(secret, version) {
      const name = versionName(secret, version);
      await call(`enabling ${secret} version ${version}`, 'idempotent', (c) =>
        c.enableSecretVersion({ name }, callOptions(policy)),
      );
    },

    async disableVersion(secret, version) {
      const name = versionName(secret, version);
      await call(`disabling ${secret} version ${version}`, 'idempotent', (c) =>
        c.disableSecretVersion({ name }, callOptions(policy)),
      );
    },
  };
}
