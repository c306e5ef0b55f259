/**
 * The system's figures as the database holds them, read when /metrics is scraped, so that any
 * instance answers for the whole deployment (on Google Cloud each function runs on instances of
 * its own, and none sees the others' memory).
 *
 * Cheap on purpose: four aggregate statements over indexed columns (idx_jobs_status, the partial
 * index of waiting jobs, idx_jobs_ended and idx_webhook_deliveries_state), one after the other on
 * one connection, in one read-only snapshot so the figures agree with each other, each cut off by
 * a statement timeout so a slow database cannot hold the scrape.
 */
import type { Knex } from 'knex';
import { PRIORITIES, type Priority } from '../jobs/limits';
import type { JobStatus } from '../jobs/views';
import type { DeliveryState } from '../webhooks/deliveries';

export const JOB_STATUSES = [
  'PENDING',
  'PROCESSING',
  'COMPLETED',
  'FAILED',
  'CANCELLED',
] as const satisfies readonly JobStatus[];

const DELIVERY_STATES = ['pending', 'succeeded', 'failed'] as const satisfies readonly DeliveryState[];

/** Upper bounds, in seconds, of the processing-time buckets: jobs take seconds to minutes (timeout 480 s). */
export const PROCESSING_BUCKETS = [1, 2, 5, 10, 20, 30, 60, 90, 120, 180, 300, 480, 600, 900, 1800];

const STATEMENT_TIMEOUT_MS = 5_000;

/** Ended jobs of one recipe and status that had started: how many, their total time, and the cumulative buckets. */
export interface ProcessingTimes {
  recipe: string;
  status: JobStatus;
  count: number;
  sumSeconds: number;
  /** Jobs that took at most PROCESSING_BUCKETS[i] seconds, per i. */
  buckets: number[];
}

export interface SystemFigures {
  jobs: Record<JobStatus, number>;
  queueDepth: Record<Priority, number>;
  /** Seconds the oldest PENDING job has waited since it was submitted; 0 when none waits. */
  oldestPendingSeconds: number;
  processing: ProcessingTimes[];
  deliveries: Record<DeliveryState, number>;
}

const zeros = <K extends string>(keys: readonly K[]): Record<K, number> =>
  Object.fromEntries(keys.map((k) => [k, 0])) as Record<K, number>;

const PRIORITY_NAMES = Object.keys(PRIORITIES) as Priority[];
const priorityOf = (value: number): Priority | undefined => PRIORITY_NAMES.find((p) => PRIORITIES[p] === value);

/**
 * width_bucket counts the bounds at or below a value, whereas Prometheus's `le` puts a job of
 * exactly 60 s in the 60 s bucket. Negated the order turns: width_bucket(-seconds) over these
 * negated bounds counts the bounds at or above the job's time.
 */
const NEGATED_BOUNDS = `{${PROCESSING_BUCKETS.map((b) => -b)
  .reverse()
  .join(',')}}`;

/**
 * Ended jobs per recipe, status and bucket, each job counted once, in the bucket of the first bound
 * at or above its time (PROCESSING_BUCKETS.length: above them all); processingTimes sums the
 * buckets up. date_part rather than extract: a float8 at once, not a numeric, three times cheaper
 * over many rows. The WHERE repeats the partial index's predicate word for word for the planner.
 */
const PROCESSING = `
  SELECT recipe, status, ${PROCESSING_BUCKETS.length} - width_bucket(-seconds, '${NEGATED_BOUNDS}'::float8[]) AS bucket,
    count(*)::int AS count, sum(seconds)::float8 AS sum_seconds
  FROM (
    SELECT recipe, status, date_part('epoch', completed_at - started_at) AS seconds
    FROM jobs WHERE started_at IS NOT NULL AND completed_at IS NOT NULL
  ) ended
  GROUP BY 1, 2, 3`;

interface ProcessingRow {
  recipe: string;
  status: JobStatus;
  bucket: number;
  count: number;
  sum_seconds: number;
}

/** The rows of PROCESSING, one per recipe, status and bucket, as the histograms they are. */
function processingTimes(rows: ProcessingRow[]): ProcessingTimes[] {
  const byKey = new Map<string, ProcessingTimes>();
  for (const r of rows) {
    const key = `${r.recipe}|${r.status}`;
    let h = byKey.get(key);
    if (!h) {
      h = { recipe: r.recipe, status: r.status, count: 0, sumSeconds: 0, buckets: PROCESSING_BUCKETS.map(() => 0) };
      byKey.set(key, h);
    }
    h.count += r.count;
    h.sumSeconds += r.sum_seconds;
    for (let i = r.bucket; i < PROCESSING_BUCKETS.length; i++) h.buckets[i]! += r.count;
  }
  return [...byKey.values()];
}

export async function readSystemFigures(k: Knex): Promise<SystemFigures> {
  return k.transaction(
    async (trx) => {
      await trx.raw(`SET LOCAL statement_timeout = ${STATEMENT_TIMEOUT_MS}`);
      const jobs = zeros(JOB_STATUSES);
      const byStatus = await trx.raw<{ rows: { status: JobStatus; n: number }[] }>(
        'SELECT status, count(*)::int AS n FROM jobs GROUP BY status',
      );
      for (const r of byStatus.rows) jobs[r.status] = r.n;

      const queueDepth = zeros(PRIORITY_NAMES);
      let oldestPendingSeconds = 0;
      const waiting = await trx.raw<{ rows: { priority: number; n: number; oldest: number }[] }>(
        `SELECT priority, count(*)::int AS n, extract(epoch FROM now() - min(created_at))::float8 AS oldest
         FROM jobs WHERE status = 'PENDING' GROUP BY priority`,
      );
      for (const r of waiting.rows) {
        const priority = priorityOf(r.priority);
        if (priority) queueDepth[priority] = r.n;
        oldestPendingSeconds = Math.max(oldestPendingSeconds, r.oldest);
      }

      const ended = await trx.raw<{ rows: ProcessingRow[] }>(PROCESSING);
      const processing = processingTimes(ended.rows);

      const deliveries = zeros(DELIVERY_STATES);
      const byState = await trx.raw<{ rows: { state: DeliveryState; n: number }[] }>(
        'SELECT state, count(*)::int AS n FROM webhook_deliveries GROUP BY state',
      );
      for (const r of byState.rows) deliveries[r.state] = r.n;

      return { jobs, queueDepth, oldestPendingSeconds, processing, deliveries };
    },
    { isolationLevel: 'repeatable read', readOnly: true },
  );
}
