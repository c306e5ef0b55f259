/**
 * The media engine: probing, voice synthesis, generated music, effects presets, mixing with
 * ducking, two-pass loudness normalization and muxing, all with ffmpeg.
 */
export { MediaError, type MediaErrorCode } from './errors';
export { ffmpegPath } from './binaries';
export { ffprobePath } from './ffprobe-binary';
export { inspect, probe, type AudioFacts, type AudioStreamFacts, type MediaFacts, type VideoFacts } from './probe';
export { measureLoudness, type LoudnessFacts } from './loudness';
export {
  elevenLabsLanguages,
  elevenLabsVoiceEngine,
  GOOGLE_VOICE_LANGUAGES,
  googleVoiceEngine,
  LANGUAGES,
  LOCAL_VOICE_LANGUAGES,
  localVoiceEngine,
  resetVoiceEngine,
  voiceEngine,
  voiceEngines,
  type ElevenLabsVoiceOptions,
  type GoogleVoiceOptions,
  type Language,
  type VoiceEngine,
  type VoiceEngineInfo,
} from './voice';
export { MUSIC_STYLES, type MusicStyle } from './music/styles';
export { generateMusic, isMusicStyle } from './music/generate';
export { configuredMusicLibrary, musicLibrary, type MusicLibrary } from './music/library';
export { EFFECTS_PRESETS, isEffectsPreset, type EffectsPreset, type EffectsPresetName } from './presets';
export {
  dub,
  DEFAULT_LEAD_IN_SECONDS,
  MAX_DUB_TRACKS,
  type DubRequest,
  type DubResult,
  type DubTrack,
  type DubTrackResult,
} from './dub';
export type { TrackCaptions } from './speak';
export type { SpokenLine } from './voice/timed';
export { extractAudio, type ExtractAudioRequest, type ExtractAudioResult } from './extract-audio';
export { AUDIO_FORMATS, AUDIO_OUTPUTS, type AudioFormat } from './audio-outputs';
export { renderStill } from './still';
export type { MediaStage } from './progress';
export { STILL_RESOLUTIONS, type StillResolution } from './still-resolutions';
