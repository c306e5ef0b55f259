import type { Language, VoiceCatalogue } from './engine';

/**
 * What the local engine accepts: the Latin-script languages, read with an English voice. Japanese
 * and Chinese are not listed: flite has nothing to read in them, so a request for them is refused
 * at submit instead of failing at the end.
 */
export const LOCAL_VOICE_LANGUAGES = ['en', 'fr', 'es', 'de', 'it', 'pt'] as const satisfies readonly Language[];

/**
 * The flite voices built into ffmpeg's filter, all English, so every language offers the same
 * ones: `slt` (US female, the default), `rms` (US male), `awb` (Scottish male), `kal16` (US male,
 * diphone). `kal`, the same speaker as `kal16` at 8 kHz, is left out.
 */
const FLITE_VOICES = ['slt', 'rms', 'awb', 'kal16'] as const;

export const LOCAL_VOICES: VoiceCatalogue = Object.fromEntries(
  LOCAL_VOICE_LANGUAGES.map((language) => [language, FLITE_VOICES]),
);
