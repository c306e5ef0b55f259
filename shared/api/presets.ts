import type { Request, Response } from 'express';
import {
  AUDIO_FORMATS,
  EFFECTS_PRESETS,
  LANGUAGES,
  MUSIC_STYLES,
  STILL_RESOLUTIONS,
  voiceEngines,
} from '../media/catalog';
import { RECIPES } from '../jobs/request';
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
    voice_engines: engines,
    audio_formats: AUDIO_FORMATS,
    still_resolutions: STILL_RESOLUTIONS,
    music_styles: MUSIC_STYLES,
    effects_presets: Object.entries(EFFECTS_PRESETS).map(([name, p]) => ({
      name,
      description: p.description,
      target_lufs: p.targetLufs,
      true_peak_dbtp: p.truePeakDbtp,
    })),
  } satisfies PresetsView);
}
