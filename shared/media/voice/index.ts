/**
 * Voice engines: one contract (`VoiceEngine`), three engines (local flite, Google Cloud
 * Text-to-Speech, ElevenLabs), the one in use chosen by AIPROD_VOICE_ENGINE.
 */
export { LANGUAGES, type Language, type VoiceEngine } from './engine';
export { LOCAL_VOICE_LANGUAGES, localVoiceEngine } from './local';
export { GOOGLE_VOICE_LANGUAGES, googleVoiceEngine, type GoogleVoiceOptions } from './google';
export { elevenLabsLanguages, elevenLabsVoiceEngine, type ElevenLabsVoiceOptions } from './elevenlabs';
export { resetVoiceEngine, voiceEngine } from './select';
export { voiceEngines, type VoiceEngineInfo } from './catalog';
