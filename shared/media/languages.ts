/**
 * The ISO 639-2 code an MP4 stream's language is tagged with, for each language a job speaks.
 * MP4 stores the terminology forms (ISO/IEC 14496-12: fra, deu, zho, not the bibliographic fre,
 * ger, chi), and those are what players read and show.
 */
const ISO_639_2: Readonly<Record<string, string>> = {
  en: 'eng',
  fr: 'fra',
  es: 'spa',
  de: 'deu',
  it: 'ita',
  pt: 'por',
  ja: 'jpn',
  zh: 'zho',
};

/** The stream tag for one of LANGUAGES (voice/engine.ts); a RangeError for any other. */
export function streamLanguage(language: string): string {
  const code = Object.hasOwn(ISO_639_2, language) ? ISO_639_2[language] : undefined;
  if (!code) throw new RangeError(`no ISO 639-2 code for language "${language}"`);
  return code;
}
