/** What the public endpoints answer: GET /presets (shared/api/presets.ts) and the health probes (shared/api/health.ts). */
import * as z from 'zod';
import type { Config } from '../../config';
import type { HealthReport } from '../../health/checks';
import { PROBES, type Probe } from '../../health/probes';
import {
  AUDIO_FORMATS,
  CAPTION_FORMATS,
  DUB_MUSIC_STYLES,
  LANGUAGES,
  NO_MUSIC,
  ORIGINAL_AUDIO_MODES,
  STILL_RESOLUTIONS,
} from '../../media/catalog';
import { RECIPES } from '../../jobs/request';
import type { Assert, Exactly } from './common';

const VOICE_ENGINES = ['local', 'google', 'elevenlabs'] as const satisfies readonly Config['AIPROD_VOICE_ENGINE'][];

const voiceCatalogue = z.record(z.string(), z.array(z.string()).readonly()).readonly();

export const presetsSchema = z
  .strictObject({
    recipes: z.array(z.enum(RECIPES)).readonly(),
    languages: z
      .array(z.enum(LANGUAGES))
      .meta({ description: "What this deployment speaks: the configured engine's share of the API's languages." }),
    voice_engine: z.enum(VOICE_ENGINES).optional().meta({ description: 'The configured voice engine.' }),
    voices: voiceCatalogue.meta({
      description:
        "The configured engine's voices per language it speaks, the default first: what a dub's `voice_id` may name.",
    }),
    voice_engines: z.array(
      z.strictObject({
        name: z.enum(VOICE_ENGINES),
        languages: z.array(z.string()).readonly(),
        voices: voiceCatalogue.meta({ description: 'Its voices per language, the default first.' }),
        configured: z.boolean(),
      }),
    ),
    audio_formats: z.array(z.enum(AUDIO_FORMATS)).readonly(),
    still_resolutions: z
      .strictObject(
        Object.fromEntries(
          Object.keys(STILL_RESOLUTIONS).map((name) => [name, z.strictObject({ width: z.int(), height: z.int() })]),
        ) as Record<keyof typeof STILL_RESOLUTIONS, z.ZodObject<{ width: z.ZodInt; height: z.ZodInt }, z.core.$strict>>,
      )
      .meta({ description: 'The frames a still can be rendered into.' }),
    music_styles: z
      .array(z.enum(DUB_MUSIC_STYLES))
      .readonly()
      .meta({ description: `The music styles; \`${NO_MUSIC}\` (no music) is the dub's only.` }),
    original_audio_modes: z
      .array(z.enum(ORIGINAL_AUDIO_MODES))
      .readonly()
      .meta({ description: "What a dub's `original_audio` does with the input's own sound." }),
    effects_presets: z.array(
      z.strictObject({
        name: z.string(),
        description: z.string(),
        target_lufs: z.number(),
        true_peak_dbtp: z.number(),
      }),
    ),
    voice: z
      .strictObject({
        rates: z.strictObject({ min: z.number(), max: z.number() }).meta({ description: '`voice_rate` bounds.' }),
        max_tracks: z.int().meta({ description: '`voice_tracks`: one audio track per language, at most this many.' }),
        max_characters: z.int().meta({ description: 'Characters spoken in all, across lines and tracks.' }),
        max_script_lines: z.int().meta({ description: 'Lines of one `voice_script`.' }),
        max_cue_speedup: z.number().meta({
          description:
            'A script line is sped up by at most this much (pitch kept) to end before the next starts; beyond, the job fails with `voice_cue_overlap`.',
        }),
      })
      .meta({ description: 'What a job may speak.' }),
    captions: z
      .strictObject({
        formats: z
          .array(z.enum(CAPTION_FORMATS))
          .readonly()
          .meta({ description: 'Sidecars stored beside the output.' }),
        max_lines: z.int(),
        max_line_characters: z.int(),
      })
      .meta({
        description:
          "`captions: true`: a soft `mov_text` track per language in the MP4 and these sidecars; `burn_captions: true` renders the first track's captions into the picture instead (a re-encode).",
      }),
  })
  .meta({ id: 'Presets' });
export type PresetsView = z.infer<typeof presetsSchema>;

const checkResult = z.strictObject({
  status: z.enum(['ok', 'fail']),
  latency_ms: z.number().min(0),
  error: z.string().optional().meta({ description: 'Why the check failed.' }),
});

export const healthSchema = z
  .strictObject({
    status: z.enum(['ok', 'unavailable']),
    probe: z.enum(PROBES),
    checks: z
      .record(z.string(), checkResult)
      .meta({ description: "Every check of the probe by name (the ready probe's `database`, `redis`, `bus`)." }),
  })
  .meta({
    id: 'Health',
    example: {
      status: 'ok',
      probe: 'ready',
      checks: { database: { status: 'ok', latency_ms: 1.2 }, bus: { status: 'ok', latency_ms: 0.9 } },
    },
  });
export type HealthView = z.infer<typeof healthSchema>;
/** Compile-time proof that the schema is the health report (shared/health/checks.ts) the function answers. */
export type HealthViewIsReport = Assert<Exactly<HealthView, HealthReport & { probe: Probe }>>;
