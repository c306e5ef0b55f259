import type { Language } from './engine';

/**
 * What the local engine accepts: the Latin-script languages, read with an English voice. Japanese
 * and Chinese are not listed: flite has nothing to read in them, so a request for them is refused
 * at submit instead of failing at the end.
 */
export const LOCAL_VOICE_LANGUAGES = ['en', 'fr', 'es', 'de', 'it', 'pt'] as const satisfies readonly Language[];
