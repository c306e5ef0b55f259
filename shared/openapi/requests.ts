/**
 * The request schemas the functions validate with, imported from where they live and described
 * for the document. The descriptions are registered on those very instances (zod's registry), so
 * the rules stay in the domain modules, untouched, and this runs only where the document is built.
 * A refinement zod cannot express in JSON Schema (a URL's extension, a key's characters) is said in
 * its field's description.
 */
import * as z from 'zod';
import { IDEMPOTENCY_KEY } from '../http/idempotency-key';
import { loginSchema } from '../auth/login';
import { batchEnvelope } from '../batches/submit';
import { JOB_LIMITS, PRIORITIES } from '../jobs/limits';
import { listJobsSchema } from '../jobs/listing';
import { jobRequestSchemas, METADATA_LIMITS, metadataSchema, VOICE_LIMITS } from '../jobs/request';
import { MAX_CUE_SPEEDUP } from '../media/catalog';
import { BUG_LIMITS, commentSchema, createBugSchema, listBugsSchema } from '../support/requests';
import { uploadRequestSchema, UPLOAD_MEDIA_TYPES } from '../uploads/request';
import { usageQuerySchema, USAGE_RANGE_DAYS } from '../usage/report';
import { PAGE_SIZE } from '../validation/page-params';
import { createWebhookSchema, listWebhooksSchema, WEBHOOK_URL_MAX_LENGTH } from '../webhooks/registry';
import { deliveryQuerySchema, MAX_PAGE } from '../webhooks/views';

type Meta = z.core.GlobalMeta & Record<string, unknown>;

/** Adds to what zod's registry holds for this instance (the instance itself, not a copy). */
function describe(schema: z.ZodType, meta: Meta): void {
  z.globalRegistry.add(schema, { ...z.globalRegistry.get(schema), ...meta });
}

function describeFields<S extends z.ZodObject>(schema: S, fields: { [K in keyof S['shape']]?: Meta }): S {
  for (const [name, meta] of Object.entries(fields)) {
    const field = schema.shape[name];
    if (!field) throw new Error(`no field ${name} to describe`);
    describe(field as z.ZodType, meta as Meta);
  }
  return schema;
}

/** `limit` and `cursor` (shared/validation/page-params.ts): a number on the wire, checked as text. */
function describePage<S extends z.ZodObject>(schema: S): S {
  return describeFields(schema, {
    limit: {
      type: 'integer',
      minimum: 1,
      maximum: PAGE_SIZE.max,
      default: PAGE_SIZE.default,
      description: `Rows per page, 1 to ${PAGE_SIZE.max} (\`out_of_range\`).`,
    },
    cursor: { description: 'The `next_cursor` of the previous page (`invalid_cursor` for any other text).' },
  } as { [K in keyof S['shape']]?: Meta });
}

// ---------------------------------------------------------------------------------------------
// POST /pipeline/run

const { dub, extract_audio: extractAudio, still } = jobRequestSchemas();

const VIDEO_URL =
  'An `http(s)://` URL whose path ends in `.mp4`, `.mov`, `.m4v`, `.webm` or `.mkv`, without credentials, or the `storage_uri` of one of your uploads (`POST /uploads`). Codes: `invalid_url`, `unsupported_extension`, `not_your_object`, `unknown_upload`, `input_too_large` (an upload larger than the largest input a job takes).';

describe(metadataSchema(), {
  type: 'object',
  maxProperties: METADATA_LIMITS.keys,
  propertyNames: { pattern: `^[A-Za-z0-9_.-]{1,${METADATA_LIMITS.keyLength}}$` },
  additionalProperties: { type: 'string', maxLength: METADATA_LIMITS.valueLength },
  description: `Your own values, stored and echoed in the status, the result and the events: up to ${METADATA_LIMITS.keys} string values under keys of 1 to ${METADATA_LIMITS.keyLength} \`A-Z a-z 0-9 _ . -\`, values up to ${METADATA_LIMITS.valueLength} characters, ${METADATA_LIMITS.bytes} bytes in all as JSON. Codes: \`invalid_type\`, \`too_many_keys\`, \`invalid_key\`, \`too_long\`, \`too_large\`.`,
  example: { order_id: 'PO-77' },
});

/** The voice fields a dub and a still share: the one-track shorthand, its timed form, the tracks and captions. */
const SPOKEN: Record<string, Meta> = {
  voice_text: {
    description:
      'What the voice reads, sentence after sentence from `voice_offset_seconds`: 5 to 10,000 characters after trimming, plain text. Give one of `voice_text`, `voice_script` or `voice_tracks` (`conflicting_fields`; a dub needs one: `required`). Codes: `too_short`, `too_long`, `markup_not_allowed`, `invalid_characters`.',
    example: 'Welcome to the show.',
  },
  voice_script: {
    description: `Timed cues: each line spoken from its \`start_seconds\`, in order of time (\`unordered_cues\`), 1 to ${VOICE_LIMITS.scriptLines} lines of up to ${VOICE_LIMITS.lineCharacters.toLocaleString('en')} characters, ${VOICE_LIMITS.characters.toLocaleString('en')} in all. A line whose speech would run into the next one's start is sped up by up to ${MAX_CUE_SPEEDUP}x, pitch kept; beyond, the job fails with \`voice_cue_overlap\` naming the line. A line starting after the video's end is refused at submit when its length is known (a still's \`duration_seconds\`, or an upload's duration once read after its PUT: 422 \`voice_too_long\`), else the job fails with \`voice_too_long\`.`,
    example: [
      { start_seconds: 1, text: 'Welcome to the harbour.' },
      { start_seconds: 6.5, text: 'The boats go out before dawn.' },
    ],
  },
  voice_tracks: {
    description: `One audio track per language (1 to ${VOICE_LIMITS.tracks}, \`duplicate_value\` for a language twice), each with \`text\` or \`script\` (as \`voice_text\` and \`voice_script\`; \`voice_required\` for neither or both) and an optional \`voice_id\` of that language; each is a full mix normalized on its own, tagged with its ISO 639-2 language, the first the default. Replaces \`voice_language\` and \`voice_id\` (\`conflicting_fields\`).`,
    example: [
      { language: 'en', text: 'Welcome to the harbour.' },
      { language: 'fr', text: 'Bienvenue au port.' },
    ],
  },
  captions: {
    default: false,
    description:
      "Captions from the script, timed by the voice: per track a soft `mov_text` subtitle track in the MP4, tagged with its language (the picture still copied), and WebVTT and SRT sidecars whose signed URLs are in the result's `tracks`. A cue per sentence, long ones split at clause boundaries, at most 2 lines of 42 characters. Needs a voice (`voice_required`).",
  },
  burn_captions: {
    default: false,
    description:
      "Renders the first track's captions into the picture (a re-encode: the result's `video.copied` is false), the sidecars still stored; implies `captions` (`conflicting_fields` with `captions: false`).",
  },
};

describeFields(dub, {
  video_url: { description: VIDEO_URL, example: 'https://cdn.example.com/in/clip.mp4' },
  ...SPOKEN,
  voice_language: {
    description:
      'The language of `voice_text`; it must be spoken by the configured voice engine (`GET /presets`), else 422 `unsupported_language`.',
  },
  voice_id: {
    description:
      "One of the configured voice engine's voices for `voice_language` (`GET /presets`, `voices`), else 422 `unknown_voice`; the language's default voice when absent.",
    example: 'slt',
  },
  voice_rate: {
    default: 1,
    description:
      "The speaking rate, 0.8 to 1.25 times the voice's own pace: the engine's rate setting as far as it goes, then a tempo change that keeps the pitch.",
  },
  voice_offset_seconds: { description: 'Where the voice starts, in seconds.' },
  music_style: { description: 'The music under the voice, or `none` for no music.' },
  original_audio: {
    default: 'replace',
    description:
      "The video's own sound: `replace` it with the mix, `duck` it under the voice with the music's sidechain, or `keep` it under the voice without ducking. Kept at its own level, brought down to the music's bed level when louder. A video without an audio track and `duck` or `keep` fails the job with `no_audio`.",
  },
  effects_preset: { description: 'Filter chain and loudness target (`GET /presets`).' },
});
describeFields(extractAudio, {
  format: { description: "The output's audio format." },
});
describeFields(still, {
  image_url: {
    description:
      'An `http(s)://` URL whose path ends in `.png`, `.jpg`, `.jpeg` or `.webp`, or the `storage_uri` of one of your uploads.',
    example: 'https://cdn.example.com/in/cover.png',
  },
  duration_seconds: { description: 'Length of the video, in seconds.' },
  ...SPOKEN,
  resolution: { description: 'The frame the image is letterboxed into.' },
  music_style: { description: 'The music under the image and the voice.' },
});

export const jobRequestSchema = z
  .union([
    dub
      .extend({ recipe: dub.shape.recipe.optional().meta({ description: 'The default recipe.' }) })
      .meta({ id: 'DubJobRequest', description: 'The video with the voice over ducked music (the default recipe).' }),
    extractAudio.meta({
      id: 'ExtractAudioJobRequest',
      description: "The input's sound, loudness-normalized to the preset's target.",
    }),
    still.meta({
      id: 'StillJobRequest',
      description: 'An H.264 video of the image, with music and, when given, the voice.',
    }),
  ])
  .meta({
    id: 'JobRequest',
    description:
      '`recipe` picks what the job makes; each recipe has its own fields and refuses the others (`unknown_field`).',
  });

export const idempotencyHeaders = z.object({
  'Idempotency-Key': z.string().regex(IDEMPOTENCY_KEY).optional().meta({
    description:
      'A retry with the same key and body returns what the first request made (the same job, or the same batch) and creates nothing; keys are per tenant, for a day, and shared by `POST /pipeline/run` and `POST /pipeline/batch`. Another body answers 422 `idempotency_key_reused`, a first request still being written 409 `idempotency_key_in_flight`. 1 to 255 visible ASCII characters (`invalid_idempotency_key`).',
    example: 'order-PO-77',
  }),
});

// ---------------------------------------------------------------------------------------------
// POST /pipeline/batch

const MAX_BATCH = Math.max(...Object.values(JOB_LIMITS).map((l) => l.maxBatchSize));
const batch = batchEnvelope(MAX_BATCH);
describeFields(batch, {
  items: {
    // Each item is checked as a POST /pipeline/run body, after the envelope.
    items: { $ref: '#/components/schemas/JobRequest' },
    description: `2 to the tier's \`max_batch_size\` job requests (${Object.entries(JOB_LIMITS)
      .map(([tier, l]) => `${tier} ${l.maxBatchSize}`)
      .join(
        ', ',
      )}), each exactly a \`POST /pipeline/run\` body; a bad item's fields are named \`items[<index>].<field>\`.`,
  },
  priority: { description: `Among the tenant's waiting jobs: ${Object.keys(PRIORITIES).join(', ')}.` },
  metadata: { description: "The batch's own metadata (each item has its own)." },
});
export const batchRequestSchema = batch.meta({ id: 'BatchRequest' });

// ---------------------------------------------------------------------------------------------
// Webhooks, uploads, support, usage, login

export const webhookRequestSchema = describeFields(createWebhookSchema(false), {
  url: {
    description: `\`https://\`, at most ${WEBHOOK_URL_MAX_LENGTH} characters, no credentials, a host that resolves only to public addresses. Codes: \`https_required\`, \`url_forbidden\`, \`url_unresolvable\`, \`invalid_url\`.`,
    example: 'https://hooks.example.com/aiprod',
  },
  events: { description: 'What to receive; no event twice (`duplicate_value`).' },
  signing: { description: '`hmac` (HMAC-SHA256, the default) or `ed25519` (AIPROD keeps the private key).' },
}).meta({ id: 'WebhookRequest' });

/** The size limit is the deployment's (shared/jobs/input-limit.ts); only its description reaches the document. */
const ANY_SIZE = Number.MAX_SAFE_INTEGER;
export const uploadRequestSchemaDoc = describeFields(uploadRequestSchema(ANY_SIZE), {
  filename: {
    description:
      'A bare file name whose extension suits `content_type`; other characters than letters, digits, `.`, `_` and `-` become `_`. Codes: `invalid_filename`, `invalid_characters`, `unsupported_extension`, `extension_mismatch`.',
    example: 'interview.mp4',
  },
  content_type: { enum: Object.keys(UPLOAD_MEDIA_TYPES), example: 'video/mp4' },
  size_bytes: {
    type: 'integer',
    minimum: 1,
    description:
      "The file's exact size: the signed URL accepts that many bytes only. At most the largest input a job takes (`too_large`): job-processor's memory less 1 GiB, 3 GiB as deployed, or `AIPROD_MAX_INPUT_BYTES` when lower.",
    example: 52428800,
  },
}).meta({ id: 'UploadRequest' });

export const bugRequestSchema = describeFields(createBugSchema(), {
  title: { description: `1 to ${BUG_LIMITS.title} characters, one line.`, example: 'Result has no sound' },
  description: { description: `1 to ${BUG_LIMITS.description} characters.` },
  steps: { description: `Up to ${BUG_LIMITS.steps} steps, each 1 to ${BUG_LIMITS.step} characters.` },
  environment: { description: `Up to ${BUG_LIMITS.environment} characters.` },
  job_id: { format: 'uuid', description: 'One of your jobs (`unknown_job` otherwise).' },
}).meta({ id: 'BugReportRequest' });

export const commentRequestSchema = describeFields(commentSchema(), {
  body: { description: `1 to ${BUG_LIMITS.comment} characters.`, example: 'It happens with every clip over a minute.' },
}).meta({ id: 'CommentRequest' });

export const loginRequestSchema = describeFields(loginSchema(), {
  id_token: { description: 'An Identity Platform (Firebase Auth) ID token of a user mapped to a tenant.' },
}).meta({ id: 'LoginRequest' });

export const jobsQuery = describeFields(describePage(listJobsSchema()), {
  status: {
    description: 'One or more of `PENDING`, `PROCESSING`, `COMPLETED`, `FAILED`, `CANCELLED`, comma-separated.',
    example: 'PENDING,PROCESSING',
  },
  recipe: { enum: [...Object.keys(jobRequestSchemas())] },
  batch_id: { format: 'uuid', description: "A batch's jobs (`invalid_uuid`)." },
  created_after: {
    format: 'date-time',
    description: 'Created strictly after this RFC 3339 instant (`invalid_timestamp`); send an offset\'s "+" as %2B.',
  },
  created_before: { format: 'date-time', description: 'Created strictly before this RFC 3339 instant.' },
});

export const webhooksQuery = describePage(listWebhooksSchema());

export const deliveriesQuery = describeFields(deliveryQuerySchema(), {
  state: { enum: ['pending', 'succeeded', 'failed'], description: 'Only the deliveries in this state.' },
  limit: { type: 'integer', minimum: 1, maximum: MAX_PAGE, description: `Rows per page, 1 to ${MAX_PAGE}.` },
  cursor: { description: 'The `next_cursor` of the previous page.' },
});

export const bugsQuery = describeFields(describePage(listBugsSchema()), {
  status: { description: 'Only the reports in this status.' },
});

export const usageQuery = describeFields(usageQuerySchema(), {
  from: {
    format: 'date',
    description: `First day (UTC), YYYY-MM-DD; by default ${USAGE_RANGE_DAYS.default - 1} days before \`to\`. At most ${USAGE_RANGE_DAYS.max} days in all (\`range_too_long\`), \`from\` not after \`to\` (\`invalid_range\`).`,
  },
  to: { format: 'date', description: 'Last day (UTC), included; today by default.' },
  group_by: { description: 'One row per day (with its media seconds) or per endpoint.' },
});
