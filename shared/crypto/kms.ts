/**
 * The key-encryption key on Google Cloud: the application's Cloud KMS key wraps and unwraps data
 * keys (encrypt / decrypt; the key never leaves KMS). The version recorded beside a sealed value
 * is the crypto key version KMS says it used (`projects/.../cryptoKeyVersions/<n>`); decrypt finds
 * the version from the ciphertext itself, so rows under every enabled version keep opening after
 * KMS rotates the key (Terraform sets its rotation period). Both directions carry CRC32C checksums,
 * checked on the way back, as KMS asks of its clients.
 */
import type { KeyManagementServiceClient } from '@google-cloud/kms';
import { UnavailableError } from '../errors';
import { isTransientError } from '../resilience/transient';
import {
  callOptions,
  ChecksumMismatchError,
  DEFAULT_CALL_POLICY,
  errorWords,
  grpcCode,
  withRetries,
  type CallPolicy,
} from '../secrets/google-calls';
import { checksumValue, crc32c } from './crc32c';
import { KeyVersionUnknownError, type KeyEncryptionKey } from './envelope';

type Options = ReturnType<typeof callOptions>;
type Bytes = Uint8Array | string | null | undefined;

/** The calls of KeyManagementServiceClient the KEK makes, as it answers them. */
export interface KmsApi {
  encrypt(
    request: { name: string; plaintext: Buffer; plaintextCrc32c: { value: number } },
    options: Options,
  ): Promise<
    [
      {
        name?: string | null;
        ciphertext?: Bytes;
        ciphertextCrc32c?: unknown;
        verifiedPlaintextCrc32c?: boolean | null;
      },
      ...unknown[],
    ]
  >;
  decrypt(
    request: { name: string; ciphertext: Buffer; ciphertextCrc32c: { value: number } },
    options: Options,
  ): Promise<[{ plaintext?: Bytes; plaintextCrc32c?: unknown }, ...unknown[]]>;
}

export interface CloudKmsKekOptions {
  /** The crypto key: projects/<p>/locations/<l>/keyRings/<r>/cryptoKeys/<k>. */
  keyName: string;
  /** A ready client; otherwise one is made on first use with Application Default Credentials. */
  client?: KmsApi;
  policy?: Partial<CallPolicy>;
}

/** KMS refused the call for a reason a retry does not fix (a missing grant, a disabled version). */
export class KeyServiceError extends Error {
  override readonly name = 'KeyServiceError';
}

/** KMS did not answer after the retries: a request depending on it may be retried shortly. */
export class KeyServiceUnavailableError extends UnavailableError {
  constructor(message: string, options?: ErrorOptions) {
    super('key_service_unavailable', message, 5);
    if (options?.cause) this.cause = options.cause;
  }
}

/** The client, loaded on first use: gRPC and the generated stubs are a large part of a cold start. */
function defaultClient(): KmsApi {
  const { KeyManagementServiceClient: Client } = require('@google-cloud/kms') as typeof import('@google-cloud/kms');
  return new Client() as KeyManagementServiceClient as unknown as KmsApi;
}

/** Bytes as the library hands them back: a Buffer over gRPC, base64 text (proto3 JSON) over REST. */
const bytesOf = (b: Bytes): Buffer | undefined =>
  b === null || b === undefined ? undefined : typeof b === 'string' ? Buffer.from(b, 'base64') : Buffer.from(b);

function mapped(err: unknown, what: string): Error {
  if (err instanceof KeyServiceError) return err;
  const words = errorWords(err);
  if (err instanceof ChecksumMismatchError || isTransientError(err) || grpcCode(err) === undefined) {
    return new KeyServiceUnavailableError(`${what}: Cloud KMS is unavailable (${words})`, { cause: err });
  }
  return new KeyServiceError(`${what}: Cloud KMS refused (${words})`);
}

/** A random data key's size: what the probe for the current version encrypts. */
const PROBE_BYTES = 32;

export function cloudKmsKeyEncryptionKey(opts: CloudKmsKekOptions): KeyEncryptionKey {
  const policy: CallPolicy = { ...DEFAULT_CALL_POLICY, ...opts.policy };
  const versions = `${opts.keyName}/cryptoKeyVersions/`;
  let client = opts.client;
  const api = (): KmsApi => (client ??= defaultClient());

  async function call<T>(what: string, fn: (c: KmsApi) => Promise<T>): Promise<T> {
    try {
      // Wrapping a data key twice is harmless, so both calls retry on any passing trouble.
      return await withRetries(policy, 'idempotent', () => fn(api()));
    } catch (err) {
      throw mapped(err, what);
    }
  }

  async function wrap(dataKey: Buffer) {
    return call('wrapping a data key', async (c) => {
      const [response] = await c.encrypt(
        { name: opts.keyName, plaintext: dataKey, plaintextCrc32c: { value: crc32c(dataKey) } },
        callOptions(policy),
      );
      const wrapped = bytesOf(response.ciphertext);
      if (!response.verifiedPlaintextCrc32c || !wrapped) {
        throw new ChecksumMismatchError('the data key reached Cloud KMS damaged');
      }
      if (checksumValue(response.ciphertextCrc32c) !== crc32c(wrapped)) {
        throw new ChecksumMismatchError('the wrapped data key came back damaged');
      }
      const version = response.name ?? '';
      if (!version.startsWith(versions)) {
        throw new KeyServiceError(
          `Cloud KMS encrypted with ${version || 'no version'}, not a version of ${opts.keyName}`,
        );
      }
      return { wrapped, version };
    });
  }

  return {
    wrap,
    async unwrap(wrapped, version) {
      // A version of another key (the key used before KMS, say) is not for this one to open.
      if (!version.startsWith(versions))
        throw new KeyVersionUnknownError(`${version} is not a version of ${opts.keyName}`);
      return call(`unwrapping a data key of ${version}`, async (c) => {
        const [response] = await c.decrypt(
          { name: opts.keyName, ciphertext: wrapped, ciphertextCrc32c: { value: crc32c(wrapped) } },
          callOptions(policy),
        );
        const plaintext = bytesOf(response.plaintext);
        if (!plaintext || checksumValue(response.plaintextCrc32c) !== crc32c(plaintext)) {
          throw new ChecksumMismatchError('the data key came back from Cloud KMS damaged');
        }
        return plaintext;
      });
    },
    // The primary version as encrypt reports it: the grant to encrypt is all it needs (reading the
    // key's metadata would take another role).
    async currentVersion() {
      return (await wrap(Buffer.alloc(PROBE_BYTES))).version;
    },
  };
}
