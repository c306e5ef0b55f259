/**
 * An in-memory Cloud KMS symmetric key behind the calls the KEK makes (KmsApi), answering as the
 * service does: encrypt uses the primary version and names it, decrypt finds the version from the
 * ciphertext (any enabled one), both check and return CRC32C; errors are gRPC status codes. A
 * rotation makes a new primary; a version can be disabled; failures can be queued per method.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { crc32c } from '../../shared/crypto/crc32c';
import type { KmsApi } from '../../shared/crypto/kms';
import { grpcError } from './fake-secret-manager';

type Method = keyof KmsApi;

export class FakeKms implements KmsApi {
  readonly calls: { method: Method; request: Record<string, unknown>; options: unknown }[] = [];
  private readonly versions = new Map<number, { key: Buffer; enabled: boolean }>();
  private readonly failures = new Map<Method, Error[]>();
  primary = 0;
  /** Answers encrypt without confirming the plaintext's checksum, as when it arrived damaged. */
  unverifiedPlaintext = 0;

  constructor(readonly keyName = 'projects/demo/locations/europe-west1/keyRings/aiprod-keyring/cryptoKeys/aiprod-app') {
    this.rotate();
  }

  rotate(): string {
    this.primary += 1;
    this.versions.set(this.primary, { key: randomBytes(32), enabled: true });
    return this.versionName(this.primary);
  }

  disable(n: number): void {
    this.versions.get(n)!.enabled = false;
  }

  versionName(n: number): string {
    return `${this.keyName}/cryptoKeyVersions/${n}`;
  }

  failNext(method: Method, ...errors: Error[]): void {
    this.failures.set(method, [...(this.failures.get(method) ?? []), ...errors]);
  }

  count(method: Method): number {
    return this.calls.filter((c) => c.method === method).length;
  }

  private enter(method: Method, request: Record<string, unknown>, options: unknown): void {
    this.calls.push({ method, request, options });
    const queued = this.failures.get(method)?.shift();
    if (queued) throw queued;
    if (request.name !== this.keyName) throw grpcError(5, `CryptoKey ${String(request.name)} not found.`);
  }

  async encrypt(request: Parameters<KmsApi['encrypt']>[0], options: unknown) {
    this.enter('encrypt', request, options);
    if (request.plaintextCrc32c.value !== crc32c(request.plaintext)) throw grpcError(3, 'plaintext_crc32c mismatch');
    const { key } = this.versions.get(this.primary)!;
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    const body = Buffer.concat([cipher.update(request.plaintext), cipher.final()]);
    const ciphertext = Buffer.concat([Buffer.from([this.primary]), iv, cipher.getAuthTag(), body]);
    const verified = this.unverifiedPlaintext > 0 ? (this.unverifiedPlaintext--, false) : true;
    return [
      {
        name: this.versionName(this.primary),
        ciphertext,
        ciphertextCrc32c: { value: String(crc32c(ciphertext)) },
        verifiedPlaintextCrc32c: verified,
      },
    ] as [{ name: string; ciphertext: Buffer; ciphertextCrc32c: { value: string }; verifiedPlaintextCrc32c: boolean }];
  }

  async decrypt(request: Parameters<KmsApi['decrypt']>[0], options: unknown) {
    this.enter('decrypt', request, options);
    const c = request.ciphertext;
    if (request.ciphertextCrc32c.value !== crc32c(c)) throw grpcError(3, 'ciphertext_crc32c mismatch');
    const version = this.versions.get(c[0]!);
    if (!version) throw grpcError(3, 'Decryption failed: the ciphertext is invalid.');
    if (!version.enabled) throw grpcError(9, `${this.versionName(c[0]!)} is not enabled.`);
    const decipher = createDecipheriv('aes-256-gcm', version.key, c.subarray(1, 13)).setAuthTag(c.subarray(13, 29));
    let plaintext: Buffer;
    try {
      plaintext = Buffer.concat([decipher.update(c.subarray(29)), decipher.final()]);
    } catch {
      throw grpcError(3, 'Decryption failed: the ciphertext is invalid.');
    }
    return [{ plaintext, plaintextCrc32c: { value: String(crc32c(plaintext)) } }] as [
      { plaintext: Buffer; plaintextCrc32c: { value: string } },
    ];
  }
}
