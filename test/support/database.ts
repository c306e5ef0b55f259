/**
 * Per-file test database: a clone of the migrated template, set as DATABASE_URL with the test
 * environment around it, so the code under test reads its configuration as in production.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Knex } from 'knex';
import { createApiKey, Tier } from '../../shared/auth/api-keys';
import { resetConfig } from '../../shared/config';
import { closeRedis } from '../../shared/cache/redis';
import { closeDb, connect, db } from '../../shared/db';
import { resetPlatform } from '../../shared/platform';
import { resetVoiceEngine } from '../../shared/media';
import { TEMPLATE_DB, withDatabaseName } from './names';

export interface TestEnv {
  url: string;
  dataDir: string;
  db: Knex;
}

export async function useTestEnv(extra: Record<string, string> = {}): Promise<TestEnv> {
  const base = process.env.AIPROD_TEST_BASE_URL;
  if (!base) throw new Error('AIPROD_TEST_BASE_URL is unset: run the tests through jest (npm test)');
  const name = `aiprod_t_${randomBytes(6).toString('hex')}`;
  const admin = connect(withDatabaseName(base, 'postgres'), 1);
  try {
    await admin.raw(`CREATE DATABASE ${name} TEMPLATE ${TEMPLATE_DB}`);
  } finally {
    await admin.destroy();
  }
  const url = withDatabaseName(base, name);
  const dataDir = mkdtempSync(join(tmpdir(), 'aiprod-test-data-'));
  // A jest worker runs several files: what an earlier file's stack set must not leak into this one.
  for (const name of ['AIPROD_PUBLIC_URL', 'PORT', 'AIPROD_JOB_LEASE_SECONDS', 'AIPROD_SCRATCH_DIR'])
    delete process.env[name];
  Object.assign(process.env, {
    NODE_ENV: 'test',
    AIPROD_MODE: 'local',
    DATABASE_URL: url,
    AIPROD_DATA_DIR: dataDir,
    AIPROD_ALLOW_PRIVATE_URLS: '1',
    ...extra,
  });
  resetConfig();
  resetPlatform();
  resetVoiceEngine();
  return { url, dataDir, db: db() };
}

/** Closes what the library opened for the test file: the pool, and the Redis client a rate limit may have. */
export async function closeTestEnv(): Promise<void> {
  await Promise.all([closeDb(), closeRedis()]);
}

let tenantSeq = 0;

export async function newTenantKey(
  k: Knex,
  tier: Tier = 'pro',
): Promise<{ key: string; tenantId: string; keyId: string }> {
  tenantSeq += 1;
  return createApiKey(k, { name: `tenant-${process.pid}-${tenantSeq}-${randomBytes(3).toString('hex')}`, tier });
}
