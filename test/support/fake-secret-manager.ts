/**
 * An in-memory Secret Manager behind the calls the store makes (SecretManagerApi), answering as
 * the library does: resource names, states as enum names, createTime as {seconds (a string, as a
 * Long comes back), nanos}, bytes with their CRC32C; errors as gRPC status codes. Failures can be
 * queued per method, and every call is recorded.
 */
import { crc32c } from '../../shared/crypto/crc32c';
import type { SecretManagerApi } from '../../shared/secrets';

type Method = keyof SecretManagerApi;

interface Version {
  n: number;
  data: Buffer;
  state: 'ENABLED' | 'DISABLED' | 'DESTROYED';
  createdMs: number;
}

export const grpcError = (code: number, details: string): Error =>
  Object.assign(new Error(`${code} ${details}`), { code, details });

export class FakeSecretManager implements SecretManagerApi {
  readonly calls: { method: Method; request: Record<string, unknown>; options: unknown }[] = [];
  private readonly secrets = new Map<string, Version[]>();
  private readonly failures = new Map<Method, Error[]>();
  /** Damages the next N payloads returned (their CRC32C no longer matches). */
  corruptReads = 0;
  now = Date.parse('2025-01-01T00:00:00Z');

  constructor(readonly project = 'demo') {}

  /** A secret with these values, version 1 first. */
  seed(secret: string, ...values: string[]): void {
    for (const v of values) this.add(secret, v);
  }

  setState(secret: string, n: number, state: Version['state']): void {
    this.version(`projects/${this.project}/secrets/${secret}/versions/${n}`).state = state;
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
  }

  private add(secret: string, value: string | Buffer): Version {
    const versions = this.secrets.get(secret) ?? [];
    const v: Version = {
      n: versions.length + 1,
      data: Buffer.from(value),
      state: 'ENABLED',
      createdMs: (this.now += 1000),
    };
    versions.push(v);
    this.secrets.set(secret, versions);
    return v;
  }

  private versionsOf(parent: string): [string, Version[]] {
    const m = new RegExp(`^projects/${this.project}/secrets/([^/]+)$`).exec(parent);
    const versions = m && this.secrets.get(m[1]!);
    if (!versions) throw grpcError(5, `Secret [${parent}] not found or has no versions.`);
    return [m[1]!, versions];
  }

  private version(name: string): Version {
    const m = /^(.*)\/versions\/([^/]+)$/.exec(name);
    if (!m) throw grpcError(3, `bad name ${name}`);
    const [, versions] = this.versionsOf(m[1]!);
    const v = m[2] === 'latest' ? versions[versions.length - 1] : versions.find((x) => String(x.n) === m[2]);
    if (!v) throw grpcError(5, `Secret Version [${name}] not found.`);
    return v;
  }

  private resource(parent: string, v: Version) {
    return {
      name: `${parent}/versions/${v.n}`,
      state: v.state,
      createTime: { seconds: String(Math.floor(v.createdMs / 1000)), nanos: (v.createdMs % 1000) * 1e6 },
    };
  }

  async accessSecretVersion(request: { name: string }, options: unknown) {
    this.enter('accessSecretVersion', request, options);
    const v = this.version(request.name);
    if (v.state !== 'ENABLED') throw grpcError(9, `Secret Version [${request.name}] is in ${v.state} state.`);
    const parent = request.name.replace(/\/versions\/[^/]+$/, '');
    const crc = (crc32c(v.data) ^ (this.corruptReads > 0 ? 1 : 0)) >>> 0;
    if (this.corruptReads > 0) this.corruptReads--;
    return [{ name: `${parent}/versions/${v.n}`, payload: { data: Buffer.from(v.data), dataCrc32c: String(crc) } }] as [
      { name: string; payload: { data: Buffer; dataCrc32c: string } },
    ];
  }

  async addSecretVersion(request: { parent: string; payload: { data: Buffer; dataCrc32c: number } }, options: unknown) {
    this.enter('addSecretVersion', request, options);
    const [secret] = this.versionsOf(request.parent);
    if (crc32c(request.payload.data) !== request.payload.dataCrc32c) throw grpcError(3, 'Checksum mismatch.');
    return [this.resource(request.parent, this.add(secret, request.payload.data))] as [
      ReturnType<FakeSecretManager['resource']>,
    ];
  }

  async listSecretVersions(request: { parent: string }, options: unknown) {
    this.enter('listSecretVersions', request, options);
    const [, versions] = this.versionsOf(request.parent);
    // Secret Manager lists newest first.
    return [[...versions].reverse().map((v) => this.resource(request.parent, v))] as [
      ReturnType<FakeSecretManager['resource']>[],
    ];
  }

  async enableSecretVersion(request: { name: string }, options: unknown) {
    this.enter('enableSecretVersion', request, options);
    const v = this.version(request.name);
    v.state = 'ENABLED';
    return [this.resource(request.name.replace(/\/versions\/[^/]+$/, ''), v)] as [
      ReturnType<FakeSecretManager['resource']>,
    ];
  }

  async disableSecretVersion(request: { name: string }, options: unknown) {
    this.enter('disableSecretVersion', request, options);
    const v = this.version(request.name);
    v.state = 'DISABLED';
    return [this.resource(request.name.replace(/\/versions\/[^/]+$/, ''), v)] as [
      ReturnType<FakeSecretManager['resource']>,
    ];
  }
}
