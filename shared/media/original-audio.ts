/**
 * What a dub does with the input video's own soundtrack: `replace` it with the new mix (the
 * default), `duck` it under the voice with the music's sidechain, or `keep` it under the voice
 * as it is, without ducking.
 */
export const ORIGINAL_AUDIO_MODES = ['replace', 'duck', 'keep'] as const;
export type OriginalAudioMode = (typeof ORIGINAL_AUDIO_MODES)[number];
