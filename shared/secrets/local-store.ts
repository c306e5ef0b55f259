/**
 * The local secret store: one directory per secret under `rootDir`, one file per version
 * (`<n>.json`: value, creation time, state), readable by this user only (0700 directories, 0600
 * files). Several processes of the local stack use it at once: a version is written whole to a
 * temporary file and then hard-linked to its number, which fails if another process took that
 * number first (it takes the next); a state change replaces the file by a rename. Readers see a
 * version completely or not at all.
 */
import { randomBytes } from 'node:crypto';
import { link, mkdir, readdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as z from 'zod';
import { lazySchema } from '../validation/lazy-schema';
import {
  assertSecretId,
  newestFirst,
  SecretNotFoundError,
  SecretStoreError,
  SecretVersionDisabledError,
  type SecretStore,
  type SecretVersion,
  type SecretVersionState,
} from './store';

const versionFile = lazySchema(() =>
  z.object({
    value: z.string(),
    created_at: z.string().datetime(),
    state: z.enum(['enabled', 'disabled', 'destroyed']),
  }),
);
type VersionFile = z.infer<ReturnType<typeof versionFile>>;

const VERSION_FILE = /^([1-9][0-9]*)\.json$/;

export function localSecretStore(rootDir: string): SecretStore {
  const dirOf = (secret: string): string => {
    assertSecretId(secret);
    return join(rootDir, secret);
  };

  async function numbers(secret: string): Promise<number[]> {
    try {
      const names = await readdir(dirOf(secret));
      return names.flatMap((n) => {
        const m = VERSION_FILE.exec(n);
        return m ? [Number(m[1])] : [];
      });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
  }

  async function read(secret: string, version: string): Promise<VersionFile> {
    if (!/^[1-9][0-9]*$/.test(version)) throw new SecretNotFoundError(`${secret} has no version ${version}`);
    let text: string;
    try {
      text = await readFile(join(dirOf(secret), `${version}.json`), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new SecretNotFoundError(`${secret} has no version ${version}`);
      }
      throw err;
    }
    const parsed = versionFile().safeParse(JSON.parse(text));
    if (!parsed.success) throw new SecretStoreError(`${secret} version ${version} is not a version file`);
    return parsed.data;
  }

  /** Writes `content` to a fresh temporary file beside the versions; the caller moves or removes it. */
  async function temporary(secret: string, content: VersionFile): Promise<string> {
    const dir = dirOf(secret);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const tmp = join(dir, `.tmp-${process.pid}-${randomBytes(6).toString('hex')}`);
    await writeFile(tmp, JSON.stringify(content), { mode: 0o600, flag: 'wx' });
    return tmp;
  }

  async function setState(secret: string, version: string, state: SecretVersionState): Promise<void> {
    const current = await read(secret, version);
    if (current.state === 'destroyed')
      throw new SecretVersionDisabledError(`${secret} version ${version} is destroyed`);
    if (current.state === state) return;
    const tmp = await temporary(secret, { ...current, state });
    await rename(tmp, join(dirOf(secret), `${version}.json`));
  }

  const describe = (secret: string, version: number, file: VersionFile): SecretVersion => ({
    secret,
    version: String(version),
    state: file.state,
    createdAt: new Date(file.created_at),
  });

  return {
    async latest(secret) {
      for (const n of (await numbers(secret)).sort((a, b) => b - a)) {
        const file = await read(secret, String(n));
        if (file.state === 'enabled') return { version: String(n), value: file.value };
      }
      throw new SecretNotFoundError(`${secret} has no enabled version`);
    },

    async access(secret, version) {
      const file = await read(secret, version);
      if (file.state !== 'enabled')
        throw new SecretVersionDisabledError(`${secret} version ${version} is ${file.state}`);
      return { version, value: file.value };
    },

    async addVersion(secret, value) {
      const content: VersionFile = { value, created_at: new Date().toISOString(), state: 'enabled' };
      const tmp = await temporary(secret, content);
      try {
        for (;;) {
          const next = Math.max(0, ...(await numbers(secret))) + 1;
          try {
            await link(tmp, join(dirOf(secret), `${next}.json`));
            return describe(secret, next, content);
          } catch (err) {
            // Another process took that number a moment before us: take the next one.
            if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
          }
        }
      } finally {
        await unlink(tmp);
      }
    },

    async listVersions(secret) {
      const versions = await Promise.all(
        (await numbers(secret)).map(async (n) => describe(secret, n, await read(secret, String(n)))),
      );
      return versions.sort(newestFirst);
    },

    enableVersion: (secret, version) => setState(secret, version, 'enabled'),
    disableVersion: (secret, version) => setState(secret, version, 'disabled'),
  };
}
