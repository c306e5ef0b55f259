import { config, ConfigError, type Config } from '../../config';
import type { VoiceEngine } from './engine';
import { elevenLabsLanguages, elevenLabsVoiceEngine } from './elevenlabs';
import { GOOGLE_VOICE_LANGUAGES, googleVoiceEngine } from './google';
import { LOCAL_VOICE_LANGUAGES, localVoiceEngine } from './local';

export interface VoiceEngineInfo {
  /** The AIPROD_VOICE_ENGINE value that selects it. */
  name: Config['AIPROD_VOICE_ENGINE'];
  languages: readonly string[];
  /** Whether this deployment speaks with it. */
  configured: boolean;
}

let chosen: VoiceEngine | undefined;

/** The engine AIPROD_VOICE_ENGINE names, made once per process (its client is reused). */
export function voiceEngine(): VoiceEngine {
  chosen ??= build(config());
  return chosen;
}

/** Forget the engine (tests change the configuration between cases). */
export function resetVoiceEngine(): void {
  chosen = undefined;
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

function build(c: Config): VoiceEngine {
  switch (c.AIPROD_VOICE_ENGINE) {
    case 'local':
      return localVoiceEngine();
    case 'google':
      return googleVoiceEngine({ apiEndpoint: c.GOOGLE_TTS_API_ENDPOINT });
    case 'elevenlabs':
      if (!c.ELEVENLABS_API_KEY) {
        throw new ConfigError(
          'ELEVENLABS_API_KEY is required when AIPROD_VOICE_ENGINE is elevenlabs (Secret Manager secret elevenlabs-api-key)',
        );
      }
      return elevenLabsVoiceEngine({
        apiKey: c.ELEVENLABS_API_KEY,
        voiceId: c.ELEVENLABS_VOICE_ID,
        modelId: c.ELEVENLABS_MODEL_ID,
        baseUrl: c.ELEVENLABS_BASE_URL,
      });
  }
}
