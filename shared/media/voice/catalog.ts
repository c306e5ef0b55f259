/**
 * What each engine speaks, without building one: the API validates and documents against this,
 * so its functions do not load the engines (nor the ffmpeg binaries the local one runs).
 */
import { config, type Config } from '../../config';
import { elevenLabsLanguages, elevenLabsVoices } from './elevenlabs';
import type { VoiceCatalogue } from './engine';
import { GOOGLE_VOICE_LANGUAGES, GOOGLE_VOICES } from './google';
import { LOCAL_VOICE_LANGUAGES, LOCAL_VOICES } from './local-languages';

export interface VoiceEngineInfo {
  /** The AIPROD_VOICE_ENGINE value that selects it. */
  name: Config['AIPROD_VOICE_ENGINE'];
  languages: readonly string[];
  /** The voices a job may name, per language; the first is the default. */
  voices: VoiceCatalogue;
  /** Whether this deployment speaks with it. */
  configured: boolean;
}

/** Every engine with the languages it speaks and its voices, and which one is in use: what /presets shows. */
export function voiceEngines(): readonly VoiceEngineInfo[] {
  const c = config();
  let known = byConfig.get(c);
  if (!known) byConfig.set(c, (known = catalogue(c)));
  return known;
}

// Every submit checks its tracks against the catalogue: built once per configuration, not per call.
const byConfig = new WeakMap<Config, readonly VoiceEngineInfo[]>();

function catalogue(c: Config): readonly VoiceEngineInfo[] {
  const engines: Omit<VoiceEngineInfo, 'configured'>[] = [
    { name: 'local', languages: LOCAL_VOICE_LANGUAGES, voices: LOCAL_VOICES },
    { name: 'google', languages: GOOGLE_VOICE_LANGUAGES, voices: GOOGLE_VOICES },
    {
      name: 'elevenlabs',
      languages: elevenLabsLanguages(c.ELEVENLABS_MODEL_ID),
      voices: elevenLabsVoices(c.ELEVENLABS_MODEL_ID, c.ELEVENLABS_VOICE_ID, c.ELEVENLABS_VOICE_IDS),
    },
  ];
  return engines.map((engine) => ({ ...engine, configured: engine.name === c.AIPROD_VOICE_ENGINE }));
}
