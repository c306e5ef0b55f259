/**
 * The rules of what a job speaks and how its captions read, shared by the engine that applies them
 * and the API that validates and lists them (GET /presets), which must not load the engine.
 */

/** A timed line may be sped up by this much (pitch kept) to end before the next one starts. */
export const MAX_CUE_SPEEDUP = 1.15;

/** Speaking rates a job may ask for (`voice_rate`). */
export const VOICE_RATES = { min: 0.8, max: 1.25 } as const;

/** A caption shows at most this many lines of at most this many characters (the usual broadcast rule). */
export const CAPTION_LAYOUT = { maxLines: 2, maxLineCharacters: 42 } as const;

/** Sidecar formats stored beside the output. */
export const CAPTION_FORMATS = ['webvtt', 'srt'] as const;
