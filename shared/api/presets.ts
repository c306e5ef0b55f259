import type { Request, Response } from 'express';
import {
  AUDIO_FORMATS,
  CAPTION_FORMATS,
  CAPTION_LAYOUT,
  DUB_MUSIC_STYLES,
  EFFECTS_PRESETS,
  LANGUAGES,
  ORIGINAL_AUDIO_MODES,
  MAX_CUE_SPEEDUP,
  STILL_RESOLUTIONS,
  VOICE_RATES,
  voiceEngines,
} from '../media/catalog';
import { RECIPES, VOICE_LIMITS } from '../jobs/request';
import type { PresetsView } from '../openapi/schemas/catalog';

export function presets(_req: Request, res: Response): void {
  const engines = voiceEngines();
  const inUse = engines.find((e) => e.configured);
  res.setHeader('Cache-Control', 'public, max-age=300');
  res.json({
    recipes: RECIPES,
    // What this deployment speaks: the configured engine's share of the API's languages.
    languages: LANGUAGES.filter((l) => inUse?.languages.includes(l)),
    voice_engine: inUse?.name,
    voices: inUse?.voices ?? {},
    voice_engines: [...engines],
    audio_formats: AUDIO_FORMATS,
    still_resolutions: STILL_RESOLUTIONS,
    // `none` is the dub's only: a still always has music.
    music_styles: DUB_MUSIC_STYLES,
    original_audio_modes: ORIGINAL_AUDIO_MODES,
    effects_presets: Object.entries(EFFECTS_PRESETS).map(([name, p]) => ({
      name,
      description: p.description,
      target_lufs: p.targetLufs,
      true_peak_dbtp: p.truePeakDbtp,
    })),
    voice: {
      rates: VOICE_RATES,
      max_tracks: VOICE_LIMITS.tracks,
      max_characters: VOICE_LIMITS.characters,
      max_script_lines: VOICE_LIMITS.scriptLines,
      max_cue_speedup: MAX_CUE_SPEEDUP,
    },
    captions: {
      formats: CAPTION_FORMATS,
      max_lines: CAPTION_LAYOUT.maxLines,
      max_line_characters: CAPTION_LAYOUT.maxLineCharacters,
    },
  } satisfies PresetsView);
}
