/**
 * Versioned secrets, read at run time: Secret Manager in Google Cloud, files under the data dir
 * locally (secrets/local-store.ts). A secret has numbered versions, newest last; each is enabled
 * or disabled. Rotation adds a version and later disables the one before it, so a reader always
 * takes the newest enabled version and an old one can be looked at (or re-enabled) until then.
 */
import { UnavailableError } from '../errors';

export type SecretVersionState = 'enabled' | 'disabled' | 'destroyed';

export interface SecretVersion {
  secret: string;
  /** The store's own id of the version: "1", "2", ... in both stores. */
  version: string;
  state: SecretVersionState;
  createdAt: Date;
}

export interface SecretValue {
  version: string;
  value: string;
}

export interface SecretStore {
  /** The newest enabled version's value. */
  latest(secret: string): Promise<SecretValue>;
  /** One version's value; a disabled or destroyed one is refused. */
  access(secret: string, version: string): Promise<SecretValue>;
  addVersion(secret: string, value: string): Promise<SecretVersion>;
  /** Every version, newest first. */
  listVersions(secret: string): Promise<SecretVersion[]>;
  enableVersion(secret: string, version: string): Promise<void>;
  disableVersion(secret: string, version: string): Promise<void>;
}

/** The secret, or the version asked for, does not exist (or has no enabled version). */
export class SecretNotFoundError extends Error {
  override readonly name = 'SecretNotFoundError';
}

/** The version exists but may not be read: disabled or destroyed. */
export class SecretVersionDisabledError extends Error {
  override readonly name = 'SecretVersionDisabledError';
}

/** The store refused this caller: a missing grant, a deployment to fix rather than a retry. */
export class SecretAccessDeniedError extends Error {
  override readonly name = 'SecretAccessDeniedError';
}

/** The store did not answer after the retries; the same call may work later. */
export class SecretStoreUnavailableError extends UnavailableError {
  constructor(message: string, options?: ErrorOptions) {
    super('secret_store_unavailable', message, 5);
    if (options?.cause) this.cause = options.cause;
  }
}

/** Anything else the store answered that no retry fixes (a malformed request, a corrupt payload). */
export class SecretStoreError extends Error {
  override readonly name = 'SecretStoreError';
}

/** Secret ids as both stores accept them, and as file names cannot escape the store's directory. */
export const SECRET_ID = /^[A-Za-z0-9_-]{1,255}$/;

export function assertSecretId(secret: string): void {
  if (!SECRET_ID.test(secret)) throw new SecretStoreError(`not a secret id: ${JSON.stringify(secret)}`);
}

/** The newest version first: versions are numbered in the order they were added. */
export const newestFirst = (a: SecretVersion, b: SecretVersion): number => Number(b.version) - Number(a.version);
