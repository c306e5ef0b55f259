/**
 * The media engine's vocabulary (languages, styles, presets, formats, what each voice engine
 * speaks) without the engine itself: the API's functions validate and document against it
 * without loading ffmpeg, its binaries or any voice client.
 */
export { AUDIO_FORMATS, AUDIO_OUTPUTS, type AudioFormat } from './audio-outputs';
export { EFFECTS_PRESETS, type EffectsPresetName } from './presets';
export { DUB_MUSIC_STYLES, MUSIC_STYLES, NO_MUSIC } from './music/styles';
export { ORIGINAL_AUDIO_MODES, type OriginalAudioMode } from './original-audio';
export { STILL_RESOLUTIONS, type StillResolution } from './still-resolutions';
export { LANGUAGES } from './voice/engine';
export { CAPTION_FORMATS, CAPTION_LAYOUT, MAX_CUE_SPEEDUP, VOICE_RATES } from './spoken-limits';
export { voiceEngines, type VoiceEngineInfo } from './voice/catalog';
