/** What the job endpoints answer: shared/jobs/views.ts, result-view.ts, submit.ts and listing.ts build these. */
import * as z from 'zod';
import { JOB_STATUSES } from '../../jobs/listing';
import { PRIORITIES, type Priority } from '../../jobs/limits';
import { RECIPES } from '../../jobs/request';
import { JOB_STAGES } from '../../jobs/stages';
import { instant, metadataView, pageOf, uuid } from './common';

export const priorityView = z.enum(Object.keys(PRIORITIES) as [Priority, ...Priority[]]).meta({
  id: 'Priority',
  description: "The job's place among the tenant's waiting jobs (`normal` for a single job).",
});

export const jobAcceptedSchema = z
  .strictObject({
    job_id: uuid(),
    status: z.literal('PENDING'),
    estimated_duration: z.int().min(0).meta({ description: 'Seconds the job should take.' }),
  })
  .meta({
    id: 'JobAccepted',
    example: { job_id: '5b0e8c1e-4c2a-4f6e-9a57-0d3c1f8e2b11', status: 'PENDING', estimated_duration: 18 },
  });
export type JobAcceptedView = z.infer<typeof jobAcceptedSchema>;

export const jobStatusSchema = z
  .strictObject({
    job_id: uuid(),
    status: z.enum(JOB_STATUSES),
    recipe: z.enum(RECIPES),
    progress: z.int().min(0).max(100).meta({ description: 'A percentage; 100 once COMPLETED.' }),
    stage: z.enum(JOB_STAGES).meta({
      description:
        'Where the job is in its run. A recipe skips the stages it has not; a failed job keeps the stage it failed in; a requeued one is `queued` again.',
    }),
    metadata: metadataView,
    batch_id: uuid().nullable().meta({ description: "The job's batch; null for a single job." }),
    priority: priorityView,
    created_at: instant(),
    started_at: instant().nullable(),
    completed_at: instant().nullable(),
    error: z
      .strictObject({ code: z.string().nullable(), message: z.string().nullable() })
      .optional()
      .meta({ description: 'Only when FAILED: the failure code (as `GET /pipeline/{id}/result` answers it) and why.' }),
    cancelled_at: instant().nullable().optional().meta({ description: 'Only when CANCELLED.' }),
  })
  .meta({
    id: 'JobStatus',
    example: {
      job_id: '5b0e8c1e-4c2a-4f6e-9a57-0d3c1f8e2b11',
      status: 'PROCESSING',
      recipe: 'dub',
      progress: 40,
      stage: 'mixing',
      metadata: { order_id: 'PO-77' },
      batch_id: null,
      priority: 'normal',
      created_at: '2025-01-31T09:30:00.000Z',
      started_at: '2025-01-31T09:30:01.250Z',
      completed_at: null,
    },
  });
export type JobStatusView = z.infer<typeof jobStatusSchema>;

export const jobStatusWithEventsSchema = jobStatusSchema
  .extend({
    events_url: z.url().meta({
      description:
        "The job's live event stream, signed for one hour, for a browser's EventSource (which cannot send headers).",
    }),
    events_url_expires_at: instant(),
  })
  .meta({ id: 'JobStatusWithEvents', description: 'The status, and the signed URL of its event stream.' });
export type JobStatusWithEventsView = z.infer<typeof jobStatusWithEventsSchema>;

export const jobPageSchema = pageOf(jobStatusWithEventsSchema).meta({ id: 'JobPage' });

const videoFacts = z.strictObject({
  codec: z.string(),
  width: z.int(),
  height: z.int(),
  fps: z.number(),
  copied: z.boolean().meta({ description: 'The picture was stream-copied, not re-encoded.' }),
});
const audioFacts = z.strictObject({ codec: z.string(), sample_rate: z.int(), channels: z.int() });
const loudnessFacts = z.strictObject({
  integrated_lufs: z.number(),
  true_peak_dbtp: z.number(),
  lra: z.number(),
  target_lufs: z.number(),
});

/** The output as resultView (shared/jobs/result-view.ts) shows it. */
export const resultMediaSchema = z.strictObject({
  url: z.url().meta({ description: 'Signed download URL, valid AIPROD_SIGNED_URL_TTL_SECONDS.' }),
  url_expires_at: instant(),
  content_type: z.string(),
  size_bytes: z.int().min(0),
  duration_seconds: z.number().min(0),
  video: videoFacts.nullable().meta({ description: 'null for an audio output (`extract_audio`).' }),
  audio: audioFacts.nullable().meta({ description: "The first (default) audio track's facts." }),
  loudness: loudnessFacts.meta({
    description: "The first (default) audio track's loudness, measured on the delivered file.",
  }),
  tracks: z
    .array(
      z.strictObject({
        language: z
          .string()
          .meta({ description: "The track's language, as asked for (the MP4 tags it in ISO 639-2)." }),
        audio: audioFacts,
        loudness: loudnessFacts,
        captions: z
          .strictObject({
            webvtt_url: z.url().meta({ description: 'Signed WebVTT sidecar URL, valid as long as `url`.' }),
            srt_url: z.url().meta({ description: 'Signed SRT sidecar URL, valid as long as `url`.' }),
            burned: z.boolean().meta({ description: 'These captions are also rendered into the picture.' }),
          })
          .nullable()
          .meta({ description: 'null when no captions were asked for.' }),
      }),
    )
    .optional()
    .meta({
      description:
        'Each audio track of the output, the default first, each measured on its own; absent for audio outputs and for results stored before tracks were reported.',
    }),
});
export type ResultMediaView = z.infer<typeof resultMediaSchema>;

export const jobResultSchema = resultMediaSchema
  .extend({ job_id: uuid(), status: z.literal('COMPLETED'), metadata: metadataView })
  .meta({
    id: 'JobResult',
    example: {
      job_id: '5b0e8c1e-4c2a-4f6e-9a57-0d3c1f8e2b11',
      status: 'COMPLETED',
      metadata: {},
      url: 'https://storage.googleapis.com/aiprod-outputs/jobs/5b0e8c1e-4c2a-4f6e-9a57-0d3c1f8e2b11/output.mp4?X-Goog-Signature=…',
      url_expires_at: '2025-01-31T10:31:00.000Z',
      content_type: 'video/mp4',
      size_bytes: 1843217,
      duration_seconds: 12,
      video: { codec: 'h264', width: 1280, height: 720, fps: 30, copied: true },
      audio: { codec: 'aac', sample_rate: 48000, channels: 2 },
      loudness: { integrated_lufs: -14.1, true_peak_dbtp: -1.6, lra: 4.2, target_lufs: -14 },
    },
  });
export type JobResultView = z.infer<typeof jobResultSchema>;
