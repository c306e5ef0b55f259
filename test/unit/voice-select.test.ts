import { ConfigError, resetConfig } from '../../shared/config';
import { resetVoiceEngine, voiceEngine, voiceEngines } from '../../shared/media/voice';

const KEYS = ['AIPROD_VOICE_ENGINE', 'GOOGLE_TTS_API_ENDPOINT', 'ELEVENLABS_API_KEY', 'ELEVENLABS_MODEL_ID'] as const;
const saved = Object.fromEntries(KEYS.map((k) => [k, process.env[k]]));

function configure(env: Partial<Record<(typeof KEYS)[number], string>>): void {
  for (const k of KEYS) {
    if (env[k] === undefined) delete process.env[k];
    else process.env[k] = env[k];
  }
  resetConfig();
  resetVoiceEngine();
}

afterAll(() => {
  for (const k of KEYS) {
    if (saved[k] === undefined) delete process.env[k];
    else process.env[k] = saved[k];
  }
  resetConfig();
  resetVoiceEngine();
});

const ALL = ['en', 'fr', 'es', 'de', 'it', 'pt', 'ja', 'zh'];

describe('voice engine selection', () => {
  test('the local engine by default, made once until reset', () => {
    configure({});
    const engine = voiceEngine();
    expect(engine.name).toBe('local-flite');
    expect(engine.languages).toEqual(['en', 'fr', 'es', 'de', 'it', 'pt']);
    expect(voiceEngine()).toBe(engine);
    resetVoiceEngine();
    expect(voiceEngine()).not.toBe(engine);
  });

  test('google, with every app language, made without touching the network', () => {
    configure({ AIPROD_VOICE_ENGINE: 'google' });
    expect(voiceEngine().name).toBe('google-tts');
    expect(voiceEngine().languages).toEqual(ALL);
  });

  test('elevenlabs needs its key, and says which variable is missing', () => {
    configure({ AIPROD_VOICE_ENGINE: 'elevenlabs' });
    expect(() => voiceEngine()).toThrow(ConfigError);
    expect(() => voiceEngine()).toThrow(/ELEVENLABS_API_KEY/);
  });

  test('elevenlabs speaks what its model speaks', () => {
    configure({ AIPROD_VOICE_ENGINE: 'elevenlabs', ELEVENLABS_API_KEY: 'k' });
    expect(voiceEngine().name).toBe('elevenlabs');
    expect(voiceEngine().languages).toEqual(ALL);
    configure({ AIPROD_VOICE_ENGINE: 'elevenlabs', ELEVENLABS_API_KEY: 'k', ELEVENLABS_MODEL_ID: 'eleven_flash_v2' });
    expect(voiceEngine().languages).toEqual(['en']);
  });

  test('voiceEngines() lists every engine, its languages and the one configured', () => {
    configure({ AIPROD_VOICE_ENGINE: 'google' });
    expect(voiceEngines()).toEqual([
      { name: 'local', languages: ['en', 'fr', 'es', 'de', 'it', 'pt'], configured: false },
      { name: 'google', languages: ALL, configured: true },
      { name: 'elevenlabs', languages: ALL, configured: false },
    ]);
    // Listing needs no key: it describes, it does not build.
    configure({ AIPROD_VOICE_ENGINE: 'elevenlabs' });
    expect(
      voiceEngines()
        .filter((e) => e.configured)
        .map((e) => e.name),
    ).toEqual(['elevenlabs']);
  });

  test('no engine lists Japanese or Chinese unless it really speaks them', () => {
    configure({ ELEVENLABS_MODEL_ID: 'eleven_monolingual_v1' });
    const byName = Object.fromEntries(voiceEngines().map((e) => [e.name, e.languages]));
    expect(byName.local).not.toEqual(expect.arrayContaining(['ja']));
    expect(byName.local).not.toEqual(expect.arrayContaining(['zh']));
    expect(byName.elevenlabs).toEqual(['en']);
  });
});
