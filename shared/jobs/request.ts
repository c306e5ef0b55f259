/**
 * What `POST /pipeline/run` accepts (roadmap API-3.7 rules), validated with zod at the boundary.
 * `recipe` picks the schema: `dub` (the default), `extract_audio` or `still`; each is strict, so a
 * field of another recipe is refused rather than silently ignored. Every recipe takes `metadata`,
 * the partner's own values, kept with the job and echoed back.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import {
  AUDIO_FORMATS,
  DUB_MUSIC_STYLES,
  EFFECTS_PRESETS,
  LANGUAGES,
  MUSIC_STYLES,
  ORIGINAL_AUDIO_MODES,
  STILL_RESOLUTIONS,
} from '../media/catalog';
import type { FieldError } from '../errors';
import { fieldErrors } from '../validation/zod-errors';

export const RECIPES = ['dub', 'extract_audio', 'still'] as const;
export type Recipe = (typeof RECIPES)[number];

const VIDEO_EXTENSION = /\.(mp4|mov|webm|mkv|m4v)$/i;
const IMAGE_EXTENSION = /\.(png|jpe?g|webp)$/i;
// Voice text is read aloud, never rendered, but partners echo it into dashboards: refuse markup.
const MARKUP = /<\s*\/?\s*[a-z!?]|javascript:|\bon[a-z]+\s*=/i;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;

function custom(ctx: z.RefinementCtx, code: string, message: string): void {
  ctx.addIssue({ code: 'custom', message, params: { code } });
}

function mediaUrl(what: string, extension: RegExp, extensions: string) {
  return z
    .string()
    .trim()
    .min(1)
    .max(2048)
    .superRefine((value, ctx) => {
      let url: URL;
      try {
        url = new URL(value);
      } catch {
        return custom(ctx, 'invalid_url', `${what} must be an absolute http(s) URL or a gs:// object of yours.`);
      }
      if (!['http:', 'https:', 'gs:'].includes(url.protocol))
        return custom(ctx, 'invalid_url', `${what} must use http, https or gs.`);
      if (url.username || url.password) return custom(ctx, 'invalid_url', `${what} must not carry credentials.`);
      if (!extension.test(decodeURIComponent(url.pathname)))
        custom(ctx, 'unsupported_extension', `${what} must name a ${extensions} file.`);
    });
}

const voiceText = z
  .string()
  .trim()
  .min(5, 'voice_text must be at least 5 characters.')
  .max(10_000, 'voice_text must be at most 10,000 characters.')
  .superRefine((v, ctx) => {
    if (MARKUP.test(v)) custom(ctx, 'markup_not_allowed', 'voice_text must be plain text, without markup or script.');
    if (CONTROL.test(v)) custom(ctx, 'invalid_characters', 'voice_text contains control characters.');
  });

const videoUrl = mediaUrl('video_url', VIDEO_EXTENSION, '.mp4, .mov, .m4v, .webm or .mkv');
const language = z.enum(LANGUAGES).default('en');
const musicStyle = z.enum(MUSIC_STYLES).default('orchestral');
/** A dub's music may be `none`; a still's may not, as a still without a voice would be silent. */
const dubMusicStyle = z.enum(DUB_MUSIC_STYLES).default('orchestral');
/**
 * `replace` when absent, and left absent rather than defaulted: a request without it reads and
 * fingerprints as it did before the field existed, as do the jobs stored then.
 */
const originalAudio = z.enum(ORIGINAL_AUDIO_MODES).optional();
/**
 * A voice of the configured engine's catalogue for the language (`GET /presets`), checked at
 * submit; absent, the language's default voice. Left absent rather than defaulted, as a request
 * without it must read and fingerprint as it did before the field existed.
 */
const voiceId = z.string().trim().min(1).max(100).optional();
/** The speaking rate, 1 when absent (and left absent, as `voice_id` is). */
const voiceRate = z.number().min(0.8).max(1.25).optional();
const effectsPreset = z.enum(Object.keys(EFFECTS_PRESETS) as [keyof typeof EFFECTS_PRESETS]).default('standard');
/** Where the voice starts: a short lead-in by default, so it does not begin on the first frame. */
const voiceOffset = z.number().min(0).max(600).default(0.5);

export const METADATA_LIMITS = { keys: 16, keyLength: 40, valueLength: 500, bytes: 2048 } as const;
const METADATA_KEY = /^[A-Za-z0-9_.-]{1,40}$/;
export type JobMetadata = Record<string, string>;

/**
 * Up to 16 string values under keys of 1 to 40 `[A-Za-z0-9_.-]`, each value up to 500 characters,
 * 2 KB in all as JSON. Checked by hand on the object as sent, so every bad entry is reported at
 * once and no key (not even `__proto__`, which zod's record would drop without a word) is lost.
 */
export const metadataSchema = z
  .unknown()
  .superRefine((value, ctx) => {
    const issue = (code: string, message: string, key?: string): void =>
      ctx.addIssue({ code: 'custom', message, params: { code }, ...(key === undefined ? {} : { path: [key] }) });
    if (value === null || typeof value !== 'object' || Array.isArray(value)) {
      return issue('invalid_type', 'metadata must be an object of string values.');
    }
    const entries = Object.entries(value);
    if (entries.length > METADATA_LIMITS.keys) {
      issue('too_many_keys', `metadata has ${entries.length} keys; at most ${METADATA_LIMITS.keys} are allowed.`);
    }
    for (const [key, v] of entries) {
      if (!METADATA_KEY.test(key) || key === '__proto__') {
        issue(
          'invalid_key',
          `metadata keys must be 1 to ${METADATA_LIMITS.keyLength} letters, digits, "_", "." or "-".`,
          key,
        );
      } else if (typeof v !== 'string') {
        issue('invalid_type', 'metadata values must be strings.', key);
      } else if (v.length > METADATA_LIMITS.valueLength) {
        issue('too_long', `metadata values must be at most ${METADATA_LIMITS.valueLength} characters.`, key);
      }
    }
    if (Buffer.byteLength(JSON.stringify(value)) > METADATA_LIMITS.bytes) {
      issue('too_large', `metadata must be at most ${METADATA_LIMITS.bytes} bytes as JSON.`);
    }
  })
  .transform((value) => ({ ...(value as JobMetadata) }))
  .optional();

const dubSchema = z
  .object({
    recipe: z.literal('dub'),
    metadata: metadataSchema,
    video_url: videoUrl,
    voice_text: voiceText,
    voice_language: language,
    voice_id: voiceId,
    voice_rate: voiceRate,
    voice_offset_seconds: voiceOffset,
    music_style: dubMusicStyle,
    original_audio: originalAudio,
    effects_preset: effectsPreset,
  })
  .strict();

const extractAudioSchema = z
  .object({
    recipe: z.literal('extract_audio'),
    metadata: metadataSchema,
    video_url: videoUrl,
    format: z.enum(AUDIO_FORMATS).default('m4a'),
    effects_preset: effectsPreset,
  })
  .strict();

const stillSchema = z
  .object({
    recipe: z.literal('still'),
    metadata: metadataSchema,
    image_url: mediaUrl('image_url', IMAGE_EXTENSION, '.png, .jpg, .jpeg or .webp'),
    duration_seconds: z.number().min(1).max(3600),
    resolution: z.enum(Object.keys(STILL_RESOLUTIONS) as [keyof typeof STILL_RESOLUTIONS]).default('1080p'),
    voice_text: voiceText.optional(),
    voice_language: language,
    voice_offset_seconds: voiceOffset,
    music_style: musicStyle,
    effects_preset: effectsPreset,
  })
  .strict();

/** Each recipe's body (`recipe` as parseJobRequest fills it in: `dub` when absent). */
export const JOB_REQUEST_SCHEMAS = { dub: dubSchema, extract_audio: extractAudioSchema, still: stillSchema } as const;

export type DubJobRequest = z.infer<typeof dubSchema>;
export type ExtractAudioJobRequest = z.infer<typeof extractAudioSchema>;
export type StillJobRequest = z.infer<typeof stillSchema>;
export type JobRequest = DubJobRequest | ExtractAudioJobRequest | StillJobRequest;

export type ParsedRequest = { ok: true; request: JobRequest } | { ok: false; errors: FieldError[] };

export function parseJobRequest(body: Record<string, unknown>): ParsedRequest {
  const recipe = body.recipe ?? 'dub';
  if (typeof recipe !== 'string' || !(RECIPES as readonly string[]).includes(recipe)) {
    return {
      ok: false,
      errors: [{ field: 'recipe', code: 'unsupported_value', message: `recipe must be one of ${RECIPES.join(', ')}.` }],
    };
  }
  const input = { ...body, recipe };
  const parsed = JOB_REQUEST_SCHEMAS[recipe as Recipe].safeParse(input);
  return parsed.success ? { ok: true, request: parsed.data } : { ok: false, errors: fieldErrors(parsed.error, input) };
}

/** The URL of the job's input (video or image). */
export const inputUrl = (r: JobRequest): string => (r.recipe === 'still' ? r.image_url : r.video_url);

/** The voice language when the job speaks, for the engine check at submit. */
export const spokenLanguage = (r: JobRequest): string | undefined =>
  r.recipe === 'dub' || (r.recipe === 'still' && r.voice_text) ? r.voice_language : undefined;

/** The request without its metadata (what the recipe runs on), and the metadata (empty when none). */
export function splitMetadata(r: JobRequest): { request: Omit<JobRequest, 'metadata'>; metadata: JobMetadata } {
  const { metadata: values, ...request } = r;
  return { request, metadata: values ?? {} };
}

/** Keys sorted at every level (as fingerprints were always sorted), so the same value is the same text. */
function canonical(value: unknown): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  return Object.fromEntries(
    Object.entries(value)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => [k, canonical(v)]),
  );
}

/** The same request (metadata included), whatever its key order or spacing, has the same fingerprint. */
export function fingerprint(r: JobRequest): string {
  return createHash('sha256')
    .update(JSON.stringify(canonical(r)))
    .digest('hex');
}

/** Seconds a partner should expect: the media work grows with the voice and, for stills, the length. */
export function estimateDurationSeconds(r: JobRequest): number {
  switch (r.recipe) {
    case 'dub':
      return 15 + Math.ceil(r.voice_text.length / 15);
    case 'extract_audio':
      return 15;
    case 'still':
      return 10 + Math.ceil(r.duration_seconds / 30) + Math.ceil((r.voice_text?.length ?? 0) / 15);
  }
}
