/**
 * Retention: what the maintenance tick removes once it has outlived its use, oldest first, in
 * bounded batches (at most ROW_BATCHES x ROW_BATCH rows of each table, OBJECT_BATCHES x OBJECT_BATCH
 * jobs and uploads, and RETENTION_BUDGET_MS in all per tick), so a backlog drains over several ticks
 * and no tick runs long. Every step is safe beside a concurrent sweep (purge.ts).
 *
 * - Jobs that ended AIPROD_RETENTION_DAYS ago: their output object, and their request (expired-jobs.ts).
 * - Their result rows: the webhook deliveries (with their attempts) made that long ago, ended ones
 *   only. A delivery is made when its job or batch ends, so it goes with its job; its body carries
 *   the job's view and metadata.
 * - Uploads made AIPROD_UPLOADS_RETENTION_DAYS ago, row and object (expired-uploads.ts).
 * - Idempotency keys after IDEMPOTENCY_KEY_TTL_SECONDS: a retry of a day-old request is a new one.
 * - Login tokens (api_keys issued by POST /auth/login) once expired: they no longer authenticate.
 * - Published outbox rows and delivered bus rows after DELIVERED_KEEP_SECONDS, kept that long for
 *   debugging. Unpublished and undelivered rows stay.
 * - Dead-lettered bus rows after DEAD_LETTER_KEEP_SECONDS, as long as a dead-letter subscription
 *   keeps its messages on Google Cloud, for an operator to read or replay them.
 *
 * What stays: tenants, API keys, batches, job rows (GET /usage reads media seconds from them),
 * usage_daily, webhooks, problem reports.
 */
import type { Knex } from 'knex';
import { config } from '../config';
import { objectStore } from '../platform';
import type { ObjectStore } from '../storage';
import { expireJobs } from './expired-jobs';
import { expireUploads } from './expired-uploads';
import { inBatches, purgeBatch, type PurgeSpec } from './purge';

/** How long an Idempotency-Key is honoured: a day, as the IETF draft's examples and most APIs keep them. */
export const IDEMPOTENCY_KEY_TTL_SECONDS = 24 * 3600;
/** How long a published outbox row or a delivered bus row is kept after it went out. */
export const DELIVERED_KEEP_SECONDS = 3600;
/** How long a dead-lettered bus row is kept: Terraform's `message_retention` default, 7 days. */
export const DEAD_LETTER_KEEP_SECONDS = 7 * 86_400;
/** Retention's share of the sweeper's 60 s timeout; the healing steps before it are short. */
export const RETENTION_BUDGET_MS = 20_000;

const DAY_SECONDS = 86_400;
const ROW_BATCH = 1000;
const ROW_BATCHES = 10;
/** Smaller: each job or upload costs an object delete, a network call on Cloud Storage. */
const OBJECT_BATCH = 100;
const OBJECT_BATCHES = 5;

export interface RetentionPolicy {
  retentionDays: number;
  uploadsRetentionDays: number;
  uploadsBucket: string;
}

export function retentionPolicy(): RetentionPolicy {
  const c = config();
  return {
    retentionDays: c.AIPROD_RETENTION_DAYS,
    uploadsRetentionDays: c.AIPROD_UPLOADS_RETENTION_DAYS,
    uploadsBucket: c.AIPROD_UPLOADS_BUCKET,
  };
}

/** What one tick removed; field names stay clear of the log's redacted words (no "token", no "apiKey"). */
export interface RetentionReport {
  /** Jobs expired (request cleared, output deleted). */
  jobs: number;
  /** Output objects deleted. */
  outputs: number;
  /** Upload rows deleted, each with its object. */
  uploads: number;
  /** Object deletes that failed (left to the bucket's lifecycle rule). */
  objectsFailed: number;
  deliveries: number;
  idempotencyKeys: number;
  logins: number;
  outbox: number;
  busMessages: number;
  deadLetters: number;
}

type RowStep = 'deliveries' | 'idempotencyKeys' | 'logins' | 'outbox' | 'busMessages' | 'deadLetters';

const ROW_STEPS: Record<RowStep, { spec: PurgeSpec; keepSeconds: (p: RetentionPolicy) => number }> = {
  deliveries: {
    spec: {
      table: 'webhook_deliveries',
      key: 'id',
      aged: "state <> 'pending' AND created_at < now() - make_interval(secs => ?)",
      order: 'created_at',
    },
    keepSeconds: (p) => p.retentionDays * DAY_SECONDS,
  },
  idempotencyKeys: {
    spec: {
      table: 'idempotency_keys',
      key: 'tenant_id, key',
      aged: 'created_at < now() - make_interval(secs => ?)',
      order: 'created_at',
    },
    keepSeconds: () => IDEMPOTENCY_KEY_TTL_SECONDS,
  },
  logins: {
    spec: {
      table: 'api_keys',
      key: 'id',
      aged: 'user_uid IS NOT NULL AND expires_at < now() - make_interval(secs => ?)',
      order: 'expires_at',
    },
    keepSeconds: () => 0,
  },
  outbox: {
    spec: {
      table: 'outbox',
      key: 'id',
      aged: 'published_at < now() - make_interval(secs => ?)',
      order: 'published_at',
    },
    keepSeconds: () => DELIVERED_KEEP_SECONDS,
  },
  busMessages: {
    spec: {
      table: 'bus_messages',
      key: 'id',
      aged: 'delivered_at < now() - make_interval(secs => ?)',
      order: 'delivered_at',
    },
    keepSeconds: () => DELIVERED_KEEP_SECONDS,
  },
  deadLetters: {
    spec: {
      table: 'bus_messages',
      key: 'id',
      aged: 'dead_lettered_at < now() - make_interval(secs => ?)',
      order: 'dead_lettered_at',
    },
    keepSeconds: () => DEAD_LETTER_KEEP_SECONDS,
  },
};

const sum = <T>(items: T[], of: (t: T) => number): number => items.reduce((n, t) => n + of(t), 0);

export async function applyRetention(
  k: Knex,
  store: ObjectStore = objectStore(),
  policy: RetentionPolicy = retentionPolicy(),
): Promise<RetentionReport> {
  const deadline = Date.now() + RETENTION_BUDGET_MS;
  const jobs = await inBatches(OBJECT_BATCH, OBJECT_BATCHES, deadline, () =>
    expireJobs(k, store, policy.retentionDays, OBJECT_BATCH),
  );
  const uploads = await inBatches(OBJECT_BATCH, OBJECT_BATCHES, deadline, () =>
    expireUploads(k, store, policy.uploadsBucket, policy.uploadsRetentionDays, OBJECT_BATCH),
  );
  const rows = {} as Record<RowStep, number>;
  for (const [step, { spec, keepSeconds }] of Object.entries(ROW_STEPS) as [RowStep, (typeof ROW_STEPS)[RowStep]][]) {
    const batches = await inBatches(ROW_BATCH, ROW_BATCHES, deadline, async () => ({
      taken: await purgeBatch(k, spec, keepSeconds(policy), ROW_BATCH),
    }));
    rows[step] = sum(batches, (b) => b.taken);
  }
  return {
    jobs: sum(jobs, (b) => b.taken),
    outputs: sum(jobs, (b) => b.outputs),
    uploads: sum(uploads, (b) => b.taken),
    objectsFailed: sum(jobs, (b) => b.failed) + sum(uploads, (b) => b.failed),
    ...rows,
  };
}
