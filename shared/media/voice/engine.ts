export const LANGUAGES = ['en', 'fr', 'es', 'de', 'it', 'pt', 'ja', 'zh'] as const;

export type Language = (typeof LANGUAGES)[number];

/**
 * A text-to-speech engine. The local engine serves the embedded default; cloud engines (Google
 * Cloud Text-to-Speech, ElevenLabs) implement the same contract for production.
 */
export interface VoiceEngine {
  readonly name: string;
  /** Languages the engine really speaks: requests for any other are refused at submit. */
  readonly languages: readonly string[];
  /**
   * Speaks `text` into a WAV file at `outPath`, any sample rate and channel count (the mix
   * resamples). Rejects with MediaError('voice_synthesis_failed') when it cannot; a cloud engine
   * with MediaError('voice_rejected') when its provider refuses the request (retrying would not
   * help) and MediaError('voice_provider_unavailable') when the provider stayed overloaded, down or
   * silent through every retry, or its circuit breaker refused the request (worth trying again
   * later); any engine with MediaError('processing_timeout') once `signal` aborts.
   */
  synthesize(text: string, language: string, outPath: string, signal?: AbortSignal): Promise<void>;
}
