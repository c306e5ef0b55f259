/**
 * Accepting a job: the job row and its outbox row in one statement, shared by the submits that
 * arrive together (db/coalesce.ts), publish after commit, with `Idempotency-Key` semantics
 * (idempotency.ts).
 */
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import type { Principal } from '../auth/api-keys';
import { config } from '../config';
import { enqueueWith, OutboxMessage, publishCommitted } from '../events/outbox';
import type { Transport } from '../events/transport';
import { pooledWrites } from '../db/pooled-writes';
import { isRowError } from '../db/errors';
import { ValidationError } from '../errors';
import { transport } from '../platform';
import { voiceEngines } from '../media/catalog';
import {
  estimateDurationSeconds,
  fingerprint,
  JobRequest,
  splitMetadata,
  spokenTracks,
  type SpokenTrack,
} from './request';
import { PIPELINE_JOBS, PipelineJobMessage } from './topics';
import { recordKey, releaseKey, reserveKey, reusedKey, type Reservation } from './idempotency';
import type { JobAcceptedView } from '../openapi/schemas/jobs';
import { checkUploadsRecorded, uploadNameProblem, type UploadInput } from '../uploads/ownership';
import { LATE_LINES_MESSAGE, lateLines } from './script-fit';

/** What POST /pipeline/run answers (shared/openapi/schemas/jobs.ts). */
export type Accepted = JobAcceptedView;

/**
 * The request's input as the uploads check sees it: its URI, the field it came in, and for a dub
 * the tracks whose timed lines must start before its end once its length is known.
 */
export const uploadInputOf = (request: JobRequest): UploadInput => {
  if (request.recipe === 'still') return { uri: request.image_url, field: 'image_url' };
  // Only a dub is measured by its picture, as the recorded duration is: extract_audio goes by the
  // file's length, which the job checks itself.
  if (request.recipe !== 'dub') return { uri: request.video_url, field: 'video_url' };
  return { uri: request.video_url, field: 'video_url', video: { tracks: spokenTracks(request) } };
};

function checkOwnObject(principal: Principal, request: JobRequest): void {
  const input = uploadInputOf(request);
  const problem = uploadNameProblem(input, principal.tenantId, config().AIPROD_UPLOADS_BUCKET);
  if (problem) throw new ValidationError([problem]);
}

/** Refused now, not at the end of the job: the configured engine must speak each track's language. */
function checkLanguages(tracks: SpokenTrack[]): void {
  const engine = voiceEngines().find((e) => e.configured)!;
  const unspoken = tracks.filter((t) => !engine.languages.includes(t.language));
  if (unspoken.length === 0) return;
  throw new ValidationError(
    unspoken.map((t) => ({
      field: t.field.startsWith('voice_tracks') ? `${t.field}.language` : 'voice_language',
      code: 'unsupported_language',
      message: `"${t.language}" is not spoken by the ${engine.name} voice engine.`,
    })),
    'unsupported_language',
    `The ${engine.name} voice engine of this deployment speaks ${engine.languages.join(', ')}; see GET /presets.`,
  );
}

/** Refused now too: a voice the configured engine does not offer for the track's language. */
function checkVoices(tracks: SpokenTrack[]): void {
  const engine = voiceEngines().find((e) => e.configured)!;
  const offered = (t: SpokenTrack): readonly string[] => engine.voices[t.language] ?? [];
  const unknown = tracks.filter((t) => t.voiceId !== undefined && !offered(t).includes(t.voiceId));
  if (unknown.length === 0) return;
  throw new ValidationError(
    unknown.map((t) => ({
      field: t.field.startsWith('voice_tracks') ? `${t.field}.voice_id` : 'voice_id',
      code: 'unknown_voice',
      message: `"${t.voiceId}" is not a ${t.language} voice of the ${engine.name} voice engine.`,
    })),
    'unknown_voice',
    unknown
      .map(
        (t) =>
          `The ${engine.name} voice engine of this deployment offers these ${t.language} voices: ${offered(t).join(', ') || 'none'}`,
      )
      .join('; ') + '; see GET /presets.',
  );
}

/**
 * A still's length is known at submit: a script line that starts after it cannot be heard. An
 * uploaded video's is known once inspected: checkUploadsRecorded checks its lines (uploadInputOf).
 */
function checkScriptFits(request: JobRequest, tracks: SpokenTrack[]): void {
  if (request.recipe !== 'still') return;
  const late = lateLines(tracks, request.duration_seconds);
  if (late.length) throw new ValidationError(late, 'voice_too_long', LATE_LINES_MESSAGE);
}
/** What a well-formed request must also pass for this tenant, at submit: the same for one job and for a batch's items. */
export function checkSubmittable(principal: Principal, request: JobRequest): void {
  checkOwnObject(principal, request);
  const tracks = spokenTracks(request);
  checkLanguages(tracks);
  checkVoices(tracks);
  checkScriptFits(request, tracks);
}

export interface SubmitOptions {
  idempotencyKey?: string;
  /** Where the job's message goes: the platform's transport unless a caller brings its own. */
  bus?: Transport;
}

export async function submitJob(
  k: Knex,
  principal: Principal,
  body: JobRequest,
  { idempotencyKey, bus = transport() }: SubmitOptions = {},
): Promise<Accepted> {
  checkSubmittable(principal, body);
  await checkUploadsRecorded(k, principal.tenantId, config().AIPROD_UPLOADS_BUCKET, [uploadInputOf(body)]);
  let reservation: Reservation | undefined;
  if (idempotencyKey) {
    const held = await reserveKey(k, principal.tenantId, idempotencyKey, fingerprint(body));
    if (held.kind === 'batch') throw reusedKey();
    if (held.kind === 'job') {
      return { job_id: held.jobId, status: 'PENDING', estimated_duration: estimateDurationSeconds(held.request) };
    }
    reservation = held;
  }
  const jobId = randomUUID();
  // The metadata has a column of its own: the request is what the recipe runs on.
  const { request, metadata } = splitMetadata(body);
  const job: NewJob = { id: jobId, tenantId: principal.tenantId, recipe: body.recipe, request, metadata };
  const queued = reservation ? await writeKeyedJob(k, bus, job, reservation) : await jobWriter(k, bus)(job);
  // The job is durable now; a failed publish is retried by the sweeper, so the partner still gets 202.
  if (queued) await publishCommitted(k, bus, [queued]);
  return { job_id: jobId, status: 'PENDING', estimated_duration: estimateDurationSeconds(body) };
}

/** Enough to carry a burst in a few statements, few enough that one stays small (a job's request is a few kB at most). */
const JOBS_PER_STATEMENT = 100;

interface NewJob {
  id: string;
  tenantId: string;
  recipe: JobRequest['recipe'];
  request: Omit<JobRequest, 'metadata'>;
  metadata: Record<string, unknown>;
}

/**
 * New jobs as rows, however many, with the jobs as one JSON parameter (as events/outbox.ts writes
 * messages). Each row its own creation time, in order: jobs of one statement run in the order sent.
 */
const JOB_ROWS = `
  INSERT INTO jobs (id, tenant_id, status, recipe, request, metadata, created_at)
  SELECT r.id, r.tenant_id, 'PENDING', r.recipe, r.request, r.metadata, clock_timestamp()
  FROM jsonb_to_recordset(CAST(? AS jsonb)) AS r(id uuid, tenant_id uuid, recipe text, request jsonb, metadata jsonb)`;

const jobRows = (k: Knex, jobs: NewJob[]): Knex.Raw =>
  k.raw(JOB_ROWS, [
    JSON.stringify(
      jobs.map((j) => ({
        id: j.id,
        tenant_id: j.tenantId,
        recipe: j.recipe,
        request: j.request,
        metadata: j.metadata,
      })),
    ),
  ]);

const jobMessage = (job: NewJob) => ({
  payload: { job_id: job.id } satisfies PipelineJobMessage,
  attributes: { tenant_id: job.tenantId },
});

/**
 * Jobs and their messages, many in one statement (db/coalesce.ts): for each job, its message to
 * publish after commit, or null when the transport took it in the statement.
 */
async function writeJobs(k: Knex, bus: Transport, jobs: NewJob[]): Promise<(OutboxMessage | null)[]> {
  const queued = await enqueueWith(k, bus, { job: jobRows(k, jobs) }, PIPELINE_JOBS, jobs.map(jobMessage));
  return jobs.map((_, i) => queued[i] ?? null);
}

type JobWriter = (job: NewJob) => Promise<OutboxMessage | null>;

const writers = new WeakMap<Knex, WeakMap<Transport, JobWriter>>();

/**
 * The pool's writer of jobs without a key, for one transport: concurrent submits share
 * statements (db/pooled-writes.ts), and one waits for its write at most as long as for a connection.
 */
function jobWriter(k: Knex, bus: Transport): JobWriter {
  let byBus = writers.get(k);
  if (!byBus) writers.set(k, (byBus = new WeakMap()));
  let writer = byBus.get(bus);
  if (!writer) {
    writer = pooledWrites((jobs: NewJob[]) => writeJobs(k, bus, jobs), {
      maxItems: JOBS_PER_STATEMENT,
      itemError: isRowError,
    });
    byBus.set(bus, writer);
  }
  return writer;
}

/** A job under an Idempotency-Key: its key recorded in the same statement, alone. */
async function writeKeyedJob(
  k: Knex,
  bus: Transport,
  job: NewJob,
  reservation: Reservation,
): Promise<OutboxMessage | null> {
  try {
    const [queued] = await enqueueWith(
      k,
      bus,
      { job: jobRows(k, [job]), idempotency: recordKey(k, reservation, { job_id: job.id }) },
      PIPELINE_JOBS,
      [jobMessage(job)],
    );
    return queued ?? null;
  } catch (err) {
    await releaseKey(k, reservation);
    throw err;
  }
}
