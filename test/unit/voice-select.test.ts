import { ConfigError, resetConfig } from '../../shared/config';
import { resetVoiceEngine, voiceEngine, voiceEngines } from '../../shared/media/voice';

const KEYS = [
  'AIPROD_VOICE_ENGINE',
  'GOOGLE_TTS_API_ENDPOINT',
  'ELEVENLABS_API_KEY',
  'ELEVENLABS_MODEL_ID',
  'ELEVENLABS_VOICE_ID',
  'ELEVENLABS_VOICE_IDS',
] as const;
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
    expect(voiceEngines().map(({ name, languages, configured }) => ({ name, languages, configured }))).toEqual([
      { name: 'local', languages: ['en', 'fr', 'es', 'de', 'it', 'pt'], configured: false },
      { name: 'google', languages: ALL, configured: true },
      { name: 'elevenlabs', languages: ALL, configured: false },
    ]);
    // Built once per configuration: every submit reads it.
    expect(voiceEngines()).toBe(voiceEngines());
    // Listing needs no key: it describes, it does not build.
    configure({ AIPROD_VOICE_ENGINE: 'elevenlabs' });
    expect(
      voiceEngines()
        .filter((e) => e.configured)
        .map((e) => e.name),
    ).toEqual(['elevenlabs']);
  });

  test('each engine lists its voices for exactly the languages it speaks, the same ones the engine offers', () => {
    configure({
      ELEVENLABS_VOICE_ID: 'voiceDefault01',
      ELEVENLABS_VOICE_IDS: ' voiceOther02 , voiceDefault01,voiceThird03',
    });
    const listed = Object.fromEntries(voiceEngines().map((e) => [e.name, e]));
    for (const engine of Object.values(listed)) {
      expect(Object.keys(engine.voices).sort()).toEqual([...engine.languages].sort());
    }
    expect(listed.local?.voices.fr).toEqual(['slt', 'rms', 'awb', 'kal16']);
    expect(listed.google?.voices.fr).toEqual(['fr-FR-Wavenet-A', 'fr-FR-Wavenet-B']);
    for (const [language, names] of Object.entries(listed.google?.voices ?? {})) {
      expect(names.length).toBeGreaterThan(1);
      for (const name of names) expect(name).toMatch(language === 'zh' ? /^cmn-CN-/ : new RegExp(`^${language}-`));
    }
    // The default first, each voice once.
    expect(listed.elevenlabs?.voices.ja).toEqual(['voiceDefault01', 'voiceOther02', 'voiceThird03']);

    expect(voiceEngine().voices).toEqual(listed.local?.voices);
    configure({ AIPROD_VOICE_ENGINE: 'google' });
    expect(voiceEngine().voices).toEqual(listed.google?.voices);
    configure({
      AIPROD_VOICE_ENGINE: 'elevenlabs',
      ELEVENLABS_API_KEY: 'k',
      ELEVENLABS_VOICE_ID: 'voiceDefault01',
      ELEVENLABS_VOICE_IDS: 'voiceOther02,voiceThird03',
    });
    expect(voiceEngine().voices).toEqual(listed.elevenlabs?.voices);
  });

  test('no engine lists Japanese or Chinese unless it really speaks them', () => {
    configure({ ELEVENLABS_MODEL_ID: 'eleven_monolingual_v1' });
    const byName = Object.fromEntries(voiceEngines().map((e) => [e.name, e.languages]));
    expect(byName.local).not.toEqual(expect.arrayContaining(['ja']));
    expect(byName.local).not.toEqual(expect.arrayContaining(['zh']));
    expect(byName.elevenlabs).toEqual(['en']);
  });
});
