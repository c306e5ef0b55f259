/** The job endpoints. */
import type { MediaErrorCode } from '../../media/errors';
import type { FetchErrorCode } from '../../net/errors';
import { json, type OperationDoc } from '../operation';
import { idempotencyHeaders, jobRequestSchema, jobsQuery } from '../requests';
import {
  jobAcceptedSchema,
  jobPageSchema,
  jobResultSchema,
  jobStatusSchema,
  jobStatusWithEventsSchema,
} from '../schemas/jobs';

/**
 * Every code a failed job carries: fetching the input, the media, the voice, and the processing.
 * A record of the codes' union, so a code added to the engine and not listed here fails the typecheck.
 */
const FAILURES: Record<FetchErrorCode | MediaErrorCode | 'attempts_exhausted', true> = {
  url_forbidden: true,
  input_unreachable: true,
  input_http_error: true,
  input_too_large: true,
  input_timeout: true,
  too_many_redirects: true,
  not_a_video: true,
  not_an_image: true,
  corrupt_media: true,
  unsupported_media: true,
  absurd_dimensions: true,
  input_too_long: true,
  no_audio: true,
  silent_audio: true,
  voice_too_long: true,
  voice_cue_overlap: true,
  voice_synthesis_failed: true,
  voice_rejected: true,
  voice_provider_unavailable: true,
  ffmpeg_failed: true,
  processing_timeout: true,
  attempts_exhausted: true,
};
const JOB_FAILURE_CODES = Object.keys(FAILURES);

const JOB_ID = 'The job id (`job_id`); a job of another tenant is not found, as a missing one.';

const location = (what: string) => ({
  Location: { description: `The ${what}'s status URL.`, schema: { type: 'string' }, required: true },
});

/** How submit refuses a job request it cannot take, one job or a batch's items alike. */
export const SUBMIT_REFUSALS = [
  'validation_failed',
  'unsupported_language',
  'unknown_voice',
  'voice_too_long',
  'input_too_large',
  'input_too_long',
] as const;

export const jobOperations = {
  'pipeline-run': {
    summary: 'Submit a job',
    description:
      'Validates the request, then writes the job and its queue message in one transaction; the job runs as soon as the tier allows (`concurrent_jobs`). With an `Idempotency-Key`, a retry returns the same job.',
    tags: ['Jobs'],
    request: {
      headers: idempotencyHeaders,
      body: {
        schema: jobRequestSchema,
        examples: {
          dub: {
            summary: 'Dub a video (the default recipe)',
            value: {
              video_url: 'https://cdn.example.com/in/clip.mp4',
              voice_text: 'Welcome to the show.',
              voice_language: 'en',
              music_style: 'orchestral',
              effects_preset: 'standard',
            },
          },
          extract_audio: {
            summary: "Extract a video's sound",
            value: { recipe: 'extract_audio', video_url: 'https://cdn.example.com/in/clip.mp4', format: 'mp3' },
          },
          still: {
            summary: 'A video from a still image',
            value: {
              recipe: 'still',
              image_url: 'https://cdn.example.com/in/cover.png',
              duration_seconds: 30,
              voice_text: 'Our new collection, in thirty seconds.',
              metadata: { order_id: 'PO-77' },
            },
          },
        },
      },
    },
    responses: {
      202: {
        description: 'Accepted and queued.',
        content: json(jobAcceptedSchema),
        headers: location('job'),
      },
    },
    problems: {
      400: ['invalid_idempotency_key'],
      409: ['idempotency_key_in_flight'],
      422: [...SUBMIT_REFUSALS, 'idempotency_key_reused'],
    },
  },
  'pipeline-status': {
    summary: "A job's status",
    description: "The job's status, progress and stage, and a signed URL of its live event stream.",
    tags: ['Jobs'],
    params: { id: JOB_ID },
    responses: { 200: { description: "The job's status.", content: json(jobStatusWithEventsSchema) } },
  },
  'pipeline-result': {
    summary: "A finished job's result",
    description:
      "A completed job's signed download URL and media facts; 202 while the job is not finished; a failed job answers 422 with its failure code, a cancelled one 409, and one whose output was deleted at the end of its retention period (30 days after it ended) 410 `result_expired`.",
    tags: ['Jobs'],
    params: { id: JOB_ID },
    responses: {
      200: { description: 'The result.', content: json(jobResultSchema) },
      202: {
        description: 'Not finished yet: the status; ask again after `Retry-After`.',
        content: json(jobStatusSchema),
        headers: {
          'Retry-After': { description: 'Seconds to wait.', schema: { type: 'integer' }, required: true },
        },
      },
    },
    problems: { 409: ['job_cancelled'], 410: ['result_expired'], 422: JOB_FAILURE_CODES },
  },
  'pipeline-events': {
    summary: "A job's live events",
    description: [
      'Server-Sent Events until the job ends, with `Authorization: Bearer` or the signed `events_url` of `GET /pipeline/{id}` (`?token=`, for an EventSource).',
      '',
      '- `status`: `{job_id, status, progress, stage}`, on each change before the end;',
      '- `progress`: `{progress, stage}`;',
      '- then one final `completed`, `failed` or `cancelled` carrying the status view (`JobStatus`), and the stream ends.',
      '',
      'Every event has an increasing `id`; reconnecting with `Last-Event-ID` sends only what was not seen, and once the final event was seen, 204. A `: ping` comment comes every 15 s; a stream ends by itself with a `retry:` hint before the function times out.',
    ].join('\n'),
    tags: ['Jobs'],
    params: { id: JOB_ID },
    responses: {
      200: {
        description: 'The event stream.',
        content: { 'text/event-stream': { schema: { type: 'string' } } },
      },
      204: { description: 'The job has ended and its final event was seen already: stop.' },
    },
  },
  'pipeline-cancel': {
    summary: 'Cancel a job',
    description:
      'A waiting job is cancelled at once and never runs; a running one stops within seconds and nothing of its run is stored. Cancelling a cancelled job changes nothing.',
    tags: ['Jobs'],
    params: { id: JOB_ID },
    responses: { 200: { description: 'The status, now CANCELLED.', content: json(jobStatusSchema) } },
    problems: { 409: ['job_not_cancellable'] },
  },
  'jobs-list': {
    summary: "The tenant's jobs",
    description:
      'Newest first, filtered, a keyset page at a time (stable while jobs are submitted); read from the replica, so a job submitted a moment ago may not be listed yet.',
    tags: ['Jobs'],
    request: { query: jobsQuery },
    responses: { 200: { description: 'One page.', content: json(jobPageSchema) } },
    problems: { 422: ['validation_failed'] },
  },
} satisfies Record<string, OperationDoc>;
