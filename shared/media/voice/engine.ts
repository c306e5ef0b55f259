import { MediaError } from '../errors';

export const LANGUAGES = ['en', 'fr', 'es', 'de', 'it', 'pt', 'ja', 'zh'] as const;

export type Language = (typeof LANGUAGES)[number];

/** The voices an engine offers, per language it speaks: the first of each list is the default. */
export type VoiceCatalogue = Readonly<Record<string, readonly string[]>>;

/** The speaking rates an engine applies itself (1 is normal speed); the rest is up to the caller. */
export interface RateRange {
  min: number;
  max: number;
}

export interface SpeakOptions {
  /** One of `voices[language]`; the language's default voice when absent. */
  voice?: string;
  /** Within `rates`; 1 (the voice's own pace) when absent. */
  rate?: number;
  signal?: AbortSignal;
}

/**
 * A text-to-speech engine. The local engine serves the embedded default; cloud engines (Google
 * Cloud Text-to-Speech, ElevenLabs) implement the same contract for production.
 */
export interface VoiceEngine {
  readonly name: string;
  /** Languages the engine really speaks: requests for any other are refused at submit. */
  readonly languages: readonly string[];
  /** The voices it offers for each of `languages`: a request naming another is refused at submit. */
  readonly voices: VoiceCatalogue;
  readonly rates: RateRange;
  /**
   * Speaks `text` into a WAV file at `outPath`, any sample rate and channel count (the mix
   * resamples). Rejects with MediaError('voice_synthesis_failed') when it cannot (a voice it does
   * not offer included); a cloud engine with MediaError('voice_rejected') when its provider
   * refuses the request (retrying would not help) and MediaError('voice_provider_unavailable')
   * when the provider stayed overloaded, down or silent through every retry, or its circuit
   * breaker refused the request (worth trying again later); any engine with
   * MediaError('processing_timeout') once `signal` aborts.
   */
  synthesize(text: string, language: string, outPath: string, options?: SpeakOptions): Promise<void>;
}

/** The voice to speak `language` with: the one asked for, which must be in the catalogue, or the default. */
export function chooseVoice(engine: string, voices: VoiceCatalogue, language: string, asked?: string): string {
  const offered = Object.hasOwn(voices, language) ? voices[language] : undefined;
  const voice = asked ?? offered?.[0];
  if (voice === undefined || !offered?.includes(voice)) {
    throw new MediaError(
      'voice_synthesis_failed',
      asked === undefined
        ? `the ${engine} voice engine has no voice for "${language}"`
        : `the ${engine} voice engine has no voice "${asked}" for "${language}"`,
    );
  }
  return voice;
}

/**
 * A speaking rate split into what the engine applies itself (the nearest rate it supports) and
 * what is left for a tempo change of the audio, so that their product is the rate asked for.
 */
export function splitRate(rates: RateRange, rate: number): { engine: number; tempo: number } {
  const engine = Math.min(rates.max, Math.max(rates.min, rate));
  return { engine, tempo: rate / engine };
}
