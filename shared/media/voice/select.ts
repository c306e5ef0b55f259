import { config, ConfigError, type Config } from '../../config';
import type { VoiceEngine } from './engine';
import { elevenLabsVoiceEngine } from './elevenlabs';
import { googleVoiceEngine } from './google';
import { localVoiceEngine } from './local';

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
        voiceIds: c.ELEVENLABS_VOICE_IDS,
        modelId: c.ELEVENLABS_MODEL_ID,
        baseUrl: c.ELEVENLABS_BASE_URL,
      });
  }
}
