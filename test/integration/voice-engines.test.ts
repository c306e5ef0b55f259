import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resetConfig } from '../../shared/config';
import { ffmpegPath } from '../../shared/media/binaries';
import { elevenLabsVoiceEngine, localVoiceEngine, resetVoiceEngine, voiceEngine } from '../../shared/media/voice';
import { ffprobeJson } from '../support/media-fixtures';

/**
 * The engines' files as ffmpeg sees them, with doubles answering what the providers answer: real
 * audio made by ffmpeg at test time, raw PCM for ElevenLabs and a WAV file for Google.
 */
let dir: string;
let server: Server;
let port: number;
const paths: string[] = [];
const bodies: any[] = [];
const ENV = [
  'AIPROD_VOICE_ENGINE',
  'GOOGLE_TTS_API_ENDPOINT',
  'ELEVENLABS_API_KEY',
  'ELEVENLABS_BASE_URL',
  'ELEVENLABS_VOICE_ID',
  'ELEVENLABS_VOICE_IDS',
] as const;
const saved = Object.fromEntries(ENV.map((name) => [name, process.env[name]]));

const ffmpeg = (...args: string[]): Buffer =>
  execFileSync(ffmpegPath(), ['-hide_banner', '-loglevel', 'error', '-nostdin', '-y', ...args], {
    maxBuffer: 64 << 20,
  });

/** 0.5 s of a 440 Hz tone as ElevenLabs' pcm_44100: 16-bit little-endian mono, no header. */
let pcm: Buffer;
/** 0.75 s of tone as Google's LINEAR16: a WAV file as ffmpeg writes one (with a LIST chunk). */
let wav: Buffer;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'voice-engines-'));
  pcm = ffmpeg(
    '-f',
    'lavfi',
    '-i',
    'sine=frequency=440:sample_rate=44100:duration=0.5',
    '-f',
    's16le',
    '-ac',
    '1',
    '-',
  );
  const tone = 'sine=frequency=330:sample_rate=48000:duration=0.75';
  ffmpeg('-f', 'lavfi', '-i', tone, '-ac', '1', '-c:a', 'pcm_s16le', join(dir, 'g.wav'));
  wav = await readFile(join(dir, 'g.wav'));

  server = createServer((req, res) => {
    paths.push(req.url ?? '');
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      bodies.push(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      if (req.url?.startsWith('/v1/text-to-speech/')) {
        res.writeHead(200, { 'content-type': 'audio/pcm' }).end(pcm);
      } else {
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ audioContent: wav.toString('base64') }));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

afterEach(() => {
  paths.length = 0;
  bodies.length = 0;
});

afterAll(async () => {
  for (const name of ENV) restore(name, saved[name]);
  resetConfig();
  resetVoiceEngine();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

function restore(name: string, value: string | undefined): void {
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}

/** Two requests' worth of text for either provider. */
const LONG_TEXT = [
  'A sentence to read aloud, with a few words. '.repeat(80),
  'Then another one, to fill the second request. '.repeat(80),
]
  .join('\n')
  .trim();

function audioFacts(path: string): { codec: string; sampleRate: number; channels: number; seconds: number } {
  const { streams, format } = ffprobeJson(path);
  const [stream] = streams;
  return {
    codec: stream?.codec_name ?? '',
    sampleRate: Number(stream?.sample_rate),
    channels: Number(stream?.channels),
    seconds: Number(format.duration),
  };
}

describe('voice engines, as ffmpeg reads their files', () => {
  test('ElevenLabs: the PCM of each request becomes one 44.1 kHz mono 16-bit WAV of the right length', async () => {
    const engine = elevenLabsVoiceEngine({
      apiKey: 'k',
      voiceId: 'v',
      modelId: 'eleven_multilingual_v2',
      baseUrl: `http://127.0.0.1:${port}`,
      backoffMs: 1,
    });
    const out = join(dir, 'elevenlabs.wav');
    await engine.synthesize(LONG_TEXT, 'en', out);
    expect(paths).toHaveLength(2);
    const facts = audioFacts(out);
    expect(facts).toMatchObject({ codec: 'pcm_s16le', sampleRate: 44_100, channels: 1 });
    expect(facts.seconds).toBeCloseTo(1.0, 2);
  });

  test('Google, chosen by configuration: the WAV of each request joined into one 48 kHz mono WAV', async () => {
    process.env.AIPROD_VOICE_ENGINE = 'google';
    process.env.GOOGLE_TTS_API_ENDPOINT = `127.0.0.1:${port}`;
    resetConfig();
    resetVoiceEngine();
    const out = join(dir, 'google.wav');
    await voiceEngine().synthesize(LONG_TEXT, 'en', out);
    expect(paths).toHaveLength(2);
    expect(paths.every((p) => p.startsWith('/v1/text:synthesize'))).toBe(true);
    const facts = audioFacts(out);
    expect(facts).toMatchObject({ codec: 'pcm_s16le', sampleRate: 48_000, channels: 1 });
    expect(facts.seconds).toBeCloseTo(1.5, 2);
  });

  test('the voice and rate a job asks for reach the configured provider', async () => {
    process.env.AIPROD_VOICE_ENGINE = 'elevenlabs';
    process.env.ELEVENLABS_API_KEY = 'k';
    process.env.ELEVENLABS_BASE_URL = `http://127.0.0.1:${port}`;
    process.env.ELEVENLABS_VOICE_ID = 'defaultVoice';
    process.env.ELEVENLABS_VOICE_IDS = 'narratorVoice, otherVoice';
    resetConfig();
    resetVoiceEngine();
    await voiceEngine().synthesize('Hello there.', 'de', join(dir, 'el-voice.wav'), {
      voice: 'narratorVoice',
      rate: 0.8,
    });
    expect(paths).toEqual(['/v1/text-to-speech/narratorVoice?output_format=pcm_44100']);
    expect(bodies[0]).toMatchObject({ text: 'Hello there.', voice_settings: { speed: 0.8 } });

    process.env.AIPROD_VOICE_ENGINE = 'google';
    process.env.GOOGLE_TTS_API_ENDPOINT = `127.0.0.1:${port}`;
    resetConfig();
    resetVoiceEngine();
    await voiceEngine().synthesize('Hallo.', 'de', join(dir, 'g-voice.wav'), { voice: 'de-DE-Wavenet-B', rate: 1.15 });
    expect(bodies[1]?.voice).toEqual({ languageCode: 'de-DE', name: 'de-DE-Wavenet-B' });
    expect(bodies[1]?.audioConfig.speakingRate).toBeCloseTo(1.15);
  });

  test('local: reads a French script with its English voice, and does not claim Japanese or Chinese', async () => {
    const engine = localVoiceEngine();
    expect(engine.languages).toEqual(['en', 'fr', 'es', 'de', 'it', 'pt']);
    const out = join(dir, 'local-fr.wav');
    await engine.synthesize('Voilà un café très crème, s’il vous plaît.', 'fr', out);
    const facts = audioFacts(out);
    expect(facts.codec).toBe('pcm_s16le');
    expect(facts.seconds).toBeGreaterThan(1);
  });
});
