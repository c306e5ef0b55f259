/** What a partner sees of a job. Another tenant's job is indistinguishable from a missing one. */
import type { Knex } from 'knex';
import { NotFoundError } from '../errors';
import type { JobStatusView } from '../openapi/schemas/jobs';
import { priorityName } from './limits';
import type { JobMetadata, Recipe } from './request';
import type { JobStage } from './stages';

export type JobStatus = 'PENDING' | 'PROCESSING' | 'COMPLETED' | 'FAILED' | 'CANCELLED';

export interface JobRow {
  id: string;
  tenant_id: string;
  status: JobStatus;
  recipe: string;
  request: Record<string, unknown>;
  progress: number;
  stage: JobStage;
  /** The partner's own values, `{}` when none were given. */
  metadata: JobMetadata;
  /** One up on every change of status, progress or stage (a trigger keeps it): the event stream's clock. */
  event_seq: number;
  batch_id: string | null;
  /** 0 low, 1 normal, 2 high (limits.ts). */
  priority: number;
  attempts: number;
  /** Who runs it now (a random id per attempt), null while it waits or once it ended. */
  lease_owner: string | null;
  error_code: string | null;
  error_message: string | null;
  result: StoredResult | null;
  created_at: Date;
  started_at: Date | null;
  completed_at: Date | null;
  cancelled_at: Date | null;
  /** When retention deleted the output and cleared the request (maintenance/expired-jobs.ts). */
  expired_at: Date | null;
}

export interface StoredResult {
  bucket: string;
  key: string;
  content_type: string;
  size_bytes: number;
  duration_seconds: number;
  video: { codec: string; width: number; height: number; fps: number; copied: boolean } | null;
  audio: { codec: string; sample_rate: number; channels: number } | null;
  loudness: StoredLoudness;
  /** One per audio track, the default first; absent from results stored before tracks existed, and for audio outputs. */
  tracks?: StoredTrack[];
}

export interface StoredLoudness {
  integrated_lufs: number;
  true_peak_dbtp: number;
  lra: number;
  target_lufs: number;
}

export interface StoredTrack {
  language: string;
  audio: { codec: string; sample_rate: number; channels: number };
  loudness: StoredLoudness;
  /** The sidecars beside the output, in its bucket; null when no captions were asked for. */
  captions: { webvtt_key: string; srt_key: string; burned: boolean } | null;
}

/** Every object a result stored: the output, and the caption sidecars of its tracks. */
export function storedObjects(r: Pick<StoredResult, 'bucket' | 'key' | 'tracks'>): { bucket: string; key: string }[] {
  const captions = (r.tracks ?? []).flatMap((t) => (t.captions ? [t.captions.webvtt_key, t.captions.srt_key] : []));
  return [r.key, ...captions].map((key) => ({ bucket: r.bucket, key }));
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export async function findJob(k: Knex, tenantId: string, id: string): Promise<JobRow> {
  if (!UUID.test(id)) throw new NotFoundError('job');
  const row = await k<JobRow>('jobs').where({ id, tenant_id: tenantId }).first();
  if (!row) throw new NotFoundError('job');
  return row;
}

/** What statusView shows, and the row's version: all a status needs, without the request or the result. */
export const STATUS_COLUMNS = [
  'id',
  'status',
  'recipe',
  'progress',
  'stage',
  'metadata',
  'event_seq',
  'batch_id',
  'priority',
  'error_code',
  'error_message',
  'created_at',
  'started_at',
  'completed_at',
  'cancelled_at',
] as const;
export type JobStatusRow = Pick<JobRow, (typeof STATUS_COLUMNS)[number]>;

/** The job's status columns, or null when it is missing or another tenant's. */
export async function findJobStatus(k: Knex, tenantId: string, id: string): Promise<JobStatusRow | null> {
  if (!UUID.test(id)) return null;
  const row = await k<JobRow>('jobs')
    .where({ id, tenant_id: tenantId })
    .first(...STATUS_COLUMNS);
  return (row as JobStatusRow | undefined) ?? null;
}

/** The statuses after which nothing changes. */
export const isFinal = (status: string): boolean => status !== 'PENDING' && status !== 'PROCESSING';

const iso = (d: Date | null): string | null => (d ? new Date(d).toISOString() : null);

/** The answer's shape is the documented one (shared/openapi/schemas/jobs.ts): a field the schema lacks fails the typecheck. */
export function statusView(job: JobStatusRow): JobStatusView {
  return {
    job_id: job.id,
    status: job.status,
    // The column holds what submit wrote: one of RECIPES.
    recipe: job.recipe as Recipe,
    progress: job.status === 'COMPLETED' ? 100 : job.progress,
    stage: job.status === 'COMPLETED' ? 'done' : job.stage,
    metadata: job.metadata ?? {},
    batch_id: job.batch_id,
    priority: priorityName(job.priority),
    created_at: new Date(job.created_at).toISOString(),
    started_at: iso(job.started_at),
    completed_at: iso(job.completed_at),
    ...(job.status === 'FAILED' ? { error: { code: job.error_code, message: job.error_message } } : {}),
    ...(job.status === 'CANCELLED' ? { cancelled_at: iso(job.cancelled_at) } : {}),
  };
}
