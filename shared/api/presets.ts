import type { Request, Response } from 'express';
import { EFFECTS_PRESETS, LANGUAGES, MUSIC_STYLES, localVoiceEngine } from '../media';

export function presets(_req: Request, res: Response): void {
  const voice = localVoiceEngine();
  res.setHeader('Cache-Control', 'public, max-age=300');
  res.json({
    languages: LANGUAGES,
    voice_engine: { name: voice.name, languages: voice.languages },
    music_styles: MUSIC_STYLES,
    effects_presets: Object.entries(EFFECTS_PRESETS).map(([name, p]) => ({
      name,
      description: p.description,
      target_lufs: p.targetLufs,
      true_peak_dbtp: p.truePeakDbtp,
    })),
  });
}
