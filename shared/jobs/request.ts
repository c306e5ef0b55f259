/**
 * What `POST /pipeline/run` accepts (roadmap API-3.7 rules), validated with zod at the boundary.
 * `recipe` picks the schema: `dub` (the default), `extract_audio` or `still`; each is strict, so a
 * field of another recipe is refused rather than silently ignored. Every recipe takes `metadata`,
 * the partner's own values, kept with the job and echoed back.
 */
import { createHash } from 'node:crypto';
import * as z from 'zod';
import {
  AUDIO_FORMATS,
  DUB_MUSIC_STYLES,
  EFFECTS_PRESETS,
  LANGUAGES,
  MUSIC_STYLES,
  ORIGINAL_AUDIO_MODES,
  STILL_RESOLUTIONS,
  VOICE_RATES,
} from '../media/catalog';
import type { FieldError } from '../errors';
import { lazySchema } from '../validation/lazy-schema';
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

/** Plain text read aloud: partners echo it into dashboards, so markup and control characters are refused. */
function spokenText(field: string, min: number, max: number) {
  return z
    .string()
    .trim()
    .min(min, `${field} must be at least ${min.toLocaleString('en')} characters.`)
    .max(max, `${field} must be at most ${max.toLocaleString('en')} characters.`)
    .superRefine((v, ctx) => {
      if (MARKUP.test(v)) custom(ctx, 'markup_not_allowed', `${field} must be plain text, without markup or script.`);
      if (CONTROL.test(v)) custom(ctx, 'invalid_characters', `${field} contains control characters.`);
    });
}

/** The most a job speaks, in all its lines and tracks together: what one voice_text may hold. */
export const VOICE_LIMITS = { characters: 10_000, scriptLines: 200, lineCharacters: 1_000, tracks: 8 } as const;

export const METADATA_LIMITS = { keys: 16, keyLength: 40, valueLength: 500, bytes: 2048 } as const;
const METADATA_KEY = /^[A-Za-z0-9_.-]{1,40}$/;
export type JobMetadata = Record<string, string>;

/**
 * Up to 16 string values under keys of 1 to 40 `[A-Za-z0-9_.-]`, each value up to 500 characters,
 * 2 KB in all as JSON. Checked by hand on the object as sent, so every bad entry is reported at
 * once and no key (not even `__proto__`, which zod's record would drop without a word) is lost.
 */
export const metadataSchema = lazySchema(() =>
  z
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
    .optional(),
);

/**
 * Each recipe's body (`recipe` as parseJobRequest fills it in: `dub` when absent), built on the
 * first request checked.
 */
export const jobRequestSchemas = lazySchema(() => {
  const voiceText = spokenText('voice_text', 5, VOICE_LIMITS.characters);

  /**
   * Timed cues: each line is spoken from its `start_seconds`. Lines come in order of time, so a
   * line that would run into the next one is caught at processing, where its spoken length is known.
   */
  const voiceScript = z
    .array(
      z.strictObject({
        start_seconds: z.number().min(0).max(3600),
        text: spokenText('text', 1, VOICE_LIMITS.lineCharacters),
      }),
    )
    .min(1)
    .max(VOICE_LIMITS.scriptLines)
    .superRefine((lines, ctx) => {
      lines.forEach((line, i) => {
        if (i > 0 && line.start_seconds <= lines[i - 1]!.start_seconds) {
          ctx.addIssue({
            code: 'custom',
            path: [i, 'start_seconds'],
            message: `Line ${i + 1} starts at ${line.start_seconds} s, not after line ${i} (${lines[i - 1]!.start_seconds} s): lines must be in order of time.`,
            params: { code: 'unordered_cues' },
          });
        }
      });
      const characters = lines.reduce((total, line) => total + line.text.length, 0);
      if (characters > VOICE_LIMITS.characters) {
        custom(
          ctx,
          'too_long',
          `The script's lines hold ${characters} characters; at most ${VOICE_LIMITS.characters.toLocaleString('en')} are allowed.`,
        );
      }
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
  const voiceRate = z.number().min(VOICE_RATES.min).max(VOICE_RATES.max).optional();
  /**
   * One audio track per language, each its own full mix: the same fields as the one-track shorthand
   * (`voice_text` or `voice_script`, `voice_language`, `voice_id`), one language per track.
   */
  const voiceTracks = z
    .array(
      z
        .strictObject({
          language: z.enum(LANGUAGES),
          text: voiceText.optional(),
          script: voiceScript.optional(),
          voice_id: voiceId,
        })
        .superRefine((track, ctx) => {
          if ((track.text === undefined) === (track.script === undefined)) {
            custom(ctx, 'voice_required', 'Each track needs either text or script, not both.');
          }
        }),
    )
    .min(1)
    .max(VOICE_LIMITS.tracks)
    .superRefine((tracks, ctx) => {
      const seen = new Set<string>();
      tracks.forEach((track, i) => {
        if (seen.has(track.language)) {
          ctx.addIssue({
            code: 'custom',
            path: [i, 'language'],
            message: `"${track.language}" has a track already: one track per language.`,
            params: { code: 'duplicate_value' },
          });
        }
        seen.add(track.language);
      });
      const characters = tracks.reduce(
        (total, t) => total + (t.text?.length ?? 0) + (t.script ?? []).reduce((n, line) => n + line.text.length, 0),
        0,
      );
      if (characters > VOICE_LIMITS.characters) {
        custom(
          ctx,
          'too_long',
          `The tracks hold ${characters} characters; at most ${VOICE_LIMITS.characters.toLocaleString('en')} are allowed.`,
        );
      }
    });
  /** Captions from the script, timed by the voice: soft tracks and sidecars, or burned into the picture. */
  const captions = z.boolean().optional();
  const effectsPreset = z.enum(Object.keys(EFFECTS_PRESETS) as [keyof typeof EFFECTS_PRESETS]).default('standard');
  /** Where the voice starts: a short lead-in by default, so it does not begin on the first frame. */
  const voiceOffset = z.number().min(0).max(600).default(0.5);

  const dubSchema = z
    .object({
      recipe: z.literal('dub'),
      metadata: metadataSchema(),
      video_url: videoUrl,
      voice_text: voiceText.optional(),
      voice_script: voiceScript.optional(),
      voice_tracks: voiceTracks.optional(),
      voice_language: language,
      voice_id: voiceId,
      voice_rate: voiceRate,
      voice_offset_seconds: voiceOffset,
      captions,
      burn_captions: captions,
      music_style: dubMusicStyle,
      original_audio: originalAudio,
      effects_preset: effectsPreset,
    })
    .strict();

  const extractAudioSchema = z
    .object({
      recipe: z.literal('extract_audio'),
      metadata: metadataSchema(),
      video_url: videoUrl,
      format: z.enum(AUDIO_FORMATS).default('m4a'),
      effects_preset: effectsPreset,
    })
    .strict();

  const stillSchema = z
    .object({
      recipe: z.literal('still'),
      metadata: metadataSchema(),
      image_url: mediaUrl('image_url', IMAGE_EXTENSION, '.png, .jpg, .jpeg or .webp'),
      duration_seconds: z.number().min(1).max(3600),
      resolution: z.enum(Object.keys(STILL_RESOLUTIONS) as [keyof typeof STILL_RESOLUTIONS]).default('1080p'),
      voice_text: voiceText.optional(),
      voice_script: voiceScript.optional(),
      voice_tracks: voiceTracks.optional(),
      voice_language: language,
      voice_offset_seconds: voiceOffset,
      captions,
      burn_captions: captions,
      music_style: musicStyle,
      effects_preset: effectsPreset,
    })
    .strict();

  return { dub: dubSchema, extract_audio: extractAudioSchema, still: stillSchema } as const;
});

type JobRequestSchemas = ReturnType<typeof jobRequestSchemas>;
export type DubJobRequest = z.infer<JobRequestSchemas['dub']>;
export type ExtractAudioJobRequest = z.infer<JobRequestSchemas['extract_audio']>;
export type StillJobRequest = z.infer<JobRequestSchemas['still']>;
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
  const parsed = jobRequestSchemas()[recipe as Recipe].safeParse(input);
  const errors = [...(parsed.success ? [] : fieldErrors(parsed.error, input)), ...voiceSourceErrors(input)];
  return parsed.success && errors.length === 0 ? { ok: true, request: parsed.data } : { ok: false, errors };
}

const VOICE_SOURCES = ['voice_text', 'voice_script', 'voice_tracks'] as const;

/**
 * What one field cannot say about the others: a job speaks from one of the voice fields (a dub
 * must), the tracks name their own languages and voices, and captions need something spoken.
 * Read on the body as sent, since the schema fills in `voice_language`.
 */
function voiceSourceErrors(input: Record<string, unknown>): FieldError[] {
  if (input.recipe === 'extract_audio') return [];
  const given = VOICE_SOURCES.filter((field) => input[field] !== undefined);
  const errors: FieldError[] = given.slice(1).map((field) => ({
    field,
    code: 'conflicting_fields',
    message: `Give one of ${VOICE_SOURCES.join(', ')}, not ${given.join(' and ')}.`,
  }));
  if (given.includes('voice_tracks')) {
    for (const field of ['voice_language', 'voice_id'] as const) {
      if (input[field] !== undefined) {
        errors.push({
          field,
          code: 'conflicting_fields',
          message: `With voice_tracks, each track names its own ${field === 'voice_id' ? 'voice_id' : 'language'}.`,
        });
      }
    }
  }
  if (given.length === 0 && input.recipe === 'dub') {
    errors.push({
      field: 'voice_text',
      code: 'required',
      message: 'A dub needs voice_text, voice_script or voice_tracks.',
    });
  }
  const wantsCaptions = input.captions === true || input.burn_captions === true;
  if (wantsCaptions && given.length === 0) {
    errors.push({
      field: 'captions',
      code: 'voice_required',
      message: 'Captions are made from the voice: give voice_text, voice_script or voice_tracks.',
    });
  }
  if (input.burn_captions === true && input.captions === false) {
    errors.push({
      field: 'burn_captions',
      code: 'conflicting_fields',
      message: 'burn_captions renders the captions: it cannot go with captions false.',
    });
  }
  return errors;
}

/** One spoken track of a job, whichever field it came in. */
export interface SpokenTrack {
  /** Where the track's error would point, for messages at submit (`voice_tracks.1`, or the shorthand's fields). */
  field: string;
  language: string;
  voiceId?: string;
  text?: string;
  script?: { startSeconds: number; text: string }[];
}

/** The tracks a dub or a still speaks, the first the default; none for a job without a voice. */
export function spokenTracks(r: JobRequest): SpokenTrack[] {
  if (r.recipe === 'extract_audio') return [];
  const script = (lines: { start_seconds: number; text: string }[] | undefined) =>
    lines?.map((line) => ({ startSeconds: line.start_seconds, text: line.text }));
  if (r.voice_tracks) {
    return r.voice_tracks.map((t, i) => ({
      field: `voice_tracks.${i}`,
      language: t.language,
      ...(t.voice_id === undefined ? {} : { voiceId: t.voice_id }),
      ...(t.text === undefined ? {} : { text: t.text }),
      ...(t.script === undefined ? {} : { script: script(t.script) }),
    }));
  }
  if (r.voice_text === undefined && r.voice_script === undefined) return [];
  const voiceId = r.recipe === 'dub' ? r.voice_id : undefined;
  return [
    {
      field: r.voice_script ? 'voice_script' : 'voice_text',
      language: r.voice_language,
      ...(voiceId === undefined ? {} : { voiceId }),
      ...(r.voice_text === undefined ? {} : { text: r.voice_text }),
      ...(r.voice_script === undefined ? {} : { script: script(r.voice_script) }),
    },
  ];
}

/** The URL of the job's input (video or image). */
export const inputUrl = (r: JobRequest): string => (r.recipe === 'still' ? r.image_url : r.video_url);

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

/** The same value, whatever its key order or spacing, has the same fingerprint. */
export function fingerprintOf(value: unknown): string {
  return createHash('sha256')
    .update(JSON.stringify(canonical(value)))
    .digest('hex');
}

/** A job request's fingerprint, its metadata included. */
export const fingerprint = (r: JobRequest): string => fingerprintOf(r);

/** Characters a job's voices read, across all its lines and tracks. */
function spokenCharacters(r: JobRequest): number {
  return spokenTracks(r).reduce(
    (total, t) => total + (t.text?.length ?? 0) + (t.script ?? []).reduce((n, line) => n + line.text.length, 0),
    0,
  );
}

/** Seconds a partner should expect: the media work grows with the voice and, for stills, the length. */
export function estimateDurationSeconds(r: JobRequest): number {
  switch (r.recipe) {
    case 'dub':
      return 15 + Math.ceil(spokenCharacters(r) / 15);
    case 'extract_audio':
      return 15;
    case 'still':
      return 10 + Math.ceil(r.duration_seconds / 30) + Math.ceil(spokenCharacters(r) / 15);
  }
}
