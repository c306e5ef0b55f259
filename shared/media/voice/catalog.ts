/**
 * What each engine speaks, without building one: the API validates and documents against this,
 * so its functions do not load the engines (nor the ffmpeg binaries the local one runs).
 */
import { config, type Config } from '../../config';
import { elevenLabsLanguages } from './elevenlabs';
import { GOOGLE_VOICE_LANGUAGES } from './google';
import { LOCAL_VOICE_LANGUAGES } from './local-languages';

export interface VoiceEngineInfo {
  /** The AIPROD_VOICE_ENGINE value that selects it. */
  name: Config['AIPROD_VOICE_ENGINE'];
  languages: readonly string[];
  /** Whether this deployment speaks with it. */
  configured: boolean;
}

/** Every engine with the languages it speaks, and which one is in use: what /presets shows. */
export function voiceEngines(): VoiceEngineInfo[] {
  const c = config();
  const engines: Omit<VoiceEngineInfo, 'configured'>[] = [
    { name: 'local', languages: LOCAL_VOICE_LANGUAGES },
    { name: 'google', languages: GOOGLE_VOICE_LANGUAGES },
    { name: 'elevenlabs', languages: elevenLabsLanguages(c.ELEVENLABS_MODEL_ID) },
  ];
  return engines.map((engine) => ({ ...engine, configured: engine.name === c.AIPROD_VOICE_ENGINE }));
}
