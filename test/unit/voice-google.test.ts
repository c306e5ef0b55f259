import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MediaError } from '../../shared/media/errors';
import { googleVoiceEngine, type GoogleVoiceOptions } from '../../shared/media/voice';
import { readWav, wavFile } from '../../shared/media/voice/wav';

/** A double of texttospeech.googleapis.com's REST face: POST /v1/text:synthesize. */
type Reply = { status: number; json?: unknown; raw?: string } | 'hang';

let server: Server;
let endpoint: string;
let dir: string;
let replies: (request: any, n: number) => Reply;
const requests: { method?: string; path: string; body: any }[] = [];
const hanging: ServerResponse[] = [];

/** A distinct, recognisable WAV per request: `n` samples all of value `n`. */
const wavFor = (n: number): Buffer => wavFile({ sampleRate: 48_000, channels: 1 }, [Buffer.alloc(2 * n * 100, n)]);
const audio = (n: number): Reply => ({ status: 200, json: { audioContent: wavFor(n).toString('base64') } });
const googleError = (status: number, name: string, message: string): Reply => ({
  status,
  json: { error: { code: status, message, status: name } },
});

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'voice-google-'));
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      requests.push({ method: req.method, path: req.url ?? '', body });
      const reply = replies(body, requests.length);
      if (reply === 'hang') return void hanging.push(res);
      res.writeHead(reply.status, { 'content-type': reply.raw ? 'text/html' : 'application/json' });
      res.end(reply.raw ?? JSON.stringify(reply.json));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  endpoint = `127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterEach(() => {
  requests.length = 0;
  for (const res of hanging.splice(0)) res.destroy();
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

const engine = (opts: GoogleVoiceOptions = {}) =>
  googleVoiceEngine({ apiEndpoint: endpoint, timeoutMs: 2000, retries: 2, backoffMs: 1, ...opts });

async function failure(promise: Promise<unknown>): Promise<MediaError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(MediaError);
  return err as MediaError;
}

describe('Google voice engine: requests', () => {
  test('sends plain text, the language voice and LINEAR16 at 48 kHz, and writes the WAV it gets', async () => {
    replies = (_, n) => audio(n);
    const out = join(dir, 'one.wav');
    await engine().synthesize('Bonjour à tous. <speak>pas du SSML</speak>', 'fr', out);

    expect(requests).toHaveLength(1);
    const [request] = requests;
    expect(request?.method).toBe('POST');
    expect(request?.path).toMatch(/^\/v1\/text:synthesize(\?|$)/);
    expect(request?.body.input).toEqual({ text: 'Bonjour à tous. <speak>pas du SSML</speak>' });
    expect(request?.body.voice).toEqual({ languageCode: 'fr-FR', name: 'fr-FR-Wavenet-A' });
    // The REST transport asks for numeric enums: LINEAR16 is 1.
    expect(request?.body.audioConfig).toEqual({ audioEncoding: 1, sampleRateHertz: 48000 });

    const written = readWav(await readFile(out));
    expect(written.format).toEqual({ sampleRate: 48_000, channels: 1 });
    expect(written.pcm).toEqual(readWav(wavFor(1)).pcm);
  });

  test.each([
    ['en', 'en-US'],
    ['fr', 'fr-FR'],
    ['es', 'es-ES'],
    ['de', 'de-DE'],
    ['it', 'it-IT'],
    ['pt', 'pt-BR'],
    ['ja', 'ja-JP'],
    ['zh', 'cmn-CN'],
  ])('speaks %s with a %s voice', async (language, languageCode) => {
    replies = (_, n) => audio(n);
    const tts = engine();
    expect(tts.languages).toContain(language);
    await tts.synthesize('Hello.', language, join(dir, `${language}.wav`));
    expect(requests[0]?.body.voice.languageCode).toBe(languageCode);
    expect(requests[0]?.body.voice.name).toMatch(new RegExp(`^${languageCode}-`));
  });

  test('splits a text over 5000 bytes at sentence ends and joins the audio in order', async () => {
    replies = (_, n) => audio(n);
    // 3-byte characters: 12 sentences of 1,200 bytes each, about 14 KB in all.
    const sentences = Array.from({ length: 12 }, (_, i) => `${'語'.repeat(399)}${i % 2 ? '。' : '！'}`);
    const text = sentences.join('');
    const out = join(dir, 'long.wav');
    await engine().synthesize(text, 'ja', out);

    const sent = requests.map((r) => r.body.input.text as string);
    expect(sent.length).toBe(3);
    for (const piece of sent) expect(Buffer.byteLength(piece)).toBeLessThanOrEqual(5000);
    expect(sent.join('')).toBe(text);
    // Every piece ends a sentence.
    for (const piece of sent) expect(piece).toMatch(/[。！]$/);

    const expected = Buffer.concat([1, 2, 3].map((n) => readWav(wavFor(n)).pcm));
    expect(readWav(await readFile(out)).pcm).toEqual(expected);
  });

  test('sends the voice asked for and its speaking rate, and leaves the rate out at 1', async () => {
    replies = (_, n) => audio(n);
    const tts = engine();
    expect(tts.voices.fr).toEqual(['fr-FR-Wavenet-A', 'fr-FR-Wavenet-B']);
    expect(tts.rates).toEqual({ min: 0.25, max: 4 });
    await tts.synthesize('Bonjour.', 'fr', join(dir, 'voice.wav'), { voice: 'fr-FR-Wavenet-B', rate: 1.25 });
    expect(requests[0]?.body.voice).toEqual({ languageCode: 'fr-FR', name: 'fr-FR-Wavenet-B' });
    expect(requests[0]?.body.audioConfig).toEqual({ audioEncoding: 1, sampleRateHertz: 48000, speakingRate: 1.25 });
    await tts.synthesize('Hola.', 'es', join(dir, 'slow.wav'), { rate: 0.8 });
    expect(requests[1]?.body.voice).toEqual({ languageCode: 'es-ES', name: 'es-ES-Wavenet-C' });
    expect(requests[1]?.body.audioConfig.speakingRate).toBeCloseTo(0.8);
    await tts.synthesize('Hello.', 'en', join(dir, 'plain.wav'), { rate: 1 });
    expect(requests[2]?.body.audioConfig).not.toHaveProperty('speakingRate');
  });

  test('refuses a voice it does not offer for the language before any request', async () => {
    replies = (_, n) => audio(n);
    // A German voice for French text: a real voice, not one of this language's.
    const err = await failure(engine().synthesize('Bonjour.', 'fr', join(dir, 'de.wav'), { voice: 'de-DE-Wavenet-A' }));
    expect(err.code).toBe('voice_synthesis_failed');
    expect(err.message).toContain('de-DE-Wavenet-A');
    expect(requests).toHaveLength(0);
  });

  test('refuses a language it has no voice for before any request', async () => {
    replies = (_, n) => audio(n);
    const err = await failure(engine().synthesize('Hallo.', 'nl', join(dir, 'nl.wav')));
    expect(err.code).toBe('voice_synthesis_failed');
    expect(requests).toHaveLength(0);
  });
});

describe('Google voice engine: failures', () => {
  test('retries a 429 and succeeds', async () => {
    replies = (_, n) => (n === 1 ? googleError(429, 'RESOURCE_EXHAUSTED', 'Quota exceeded') : audio(n));
    const out = join(dir, 'retried.wav');
    await engine().synthesize('Hello there.', 'en', out);
    expect(requests).toHaveLength(2);
    expect(readWav(await readFile(out)).pcm).toEqual(readWav(wavFor(2)).pcm);
  });

  test('a 400 is voice_rejected at once, with Google’s reason', async () => {
    replies = () => googleError(400, 'INVALID_ARGUMENT', 'Sentence starting with: "Hello" is too long.');
    const err = await failure(engine().synthesize('Hello.', 'en', join(dir, 'x.wav')));
    expect(err.code).toBe('voice_rejected');
    expect(err.message).toMatch(/INVALID_ARGUMENT.*is too long/);
    expect(requests).toHaveLength(1);
  });

  test('a 403 is voice_rejected at once', async () => {
    replies = () => googleError(403, 'PERMISSION_DENIED', 'Text-to-Speech API has not been used in this project');
    const err = await failure(engine().synthesize('Hello.', 'en', join(dir, 'x.wav')));
    expect(err.code).toBe('voice_rejected');
    expect(err.message).toMatch(/PERMISSION_DENIED/);
    expect(requests).toHaveLength(1);
  });

  test('a 503 that never ends is voice_provider_unavailable after every attempt', async () => {
    replies = () => googleError(503, 'UNAVAILABLE', 'The service is currently unavailable.');
    const err = await failure(engine({ retries: 2 }).synthesize('Hello.', 'en', join(dir, 'x.wav')));
    expect(err.code).toBe('voice_provider_unavailable');
    expect(err.message).toMatch(/3 attempts/);
    expect(requests).toHaveLength(3);
  });

  test('a proxy’s HTML 502 counts as an outage, not a refusal', async () => {
    replies = () => ({ status: 502, raw: '<html><body>Bad Gateway</body></html>' });
    const err = await failure(engine({ retries: 1 }).synthesize('Hello.', 'en', join(dir, 'x.wav')));
    expect(err.code).toBe('voice_provider_unavailable');
    expect(requests).toHaveLength(2);
  });

  test('no answer in time is voice_provider_unavailable after every attempt', async () => {
    replies = () => 'hang';
    const started = Date.now();
    const err = await failure(engine({ timeoutMs: 150, retries: 1 }).synthesize('Hello.', 'en', join(dir, 'x.wav')));
    expect(err.code).toBe('voice_provider_unavailable');
    expect(err.message).toMatch(/no answer within 150 ms/);
    expect(requests).toHaveLength(2);
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
  });

  test('nobody listening is voice_provider_unavailable', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const tts = googleVoiceEngine({ apiEndpoint: `127.0.0.1:${port}`, retries: 1, backoffMs: 1 });
    const err = await failure(tts.synthesize('Hello.', 'en', join(dir, 'x.wav')));
    expect(err.code).toBe('voice_provider_unavailable');
  });

  test('the caller’s abort ends the wait with processing_timeout', async () => {
    replies = () => 'hang';
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const started = Date.now();
    const err = await failure(
      engine({ timeoutMs: 5000 }).synthesize('Hello.', 'en', join(dir, 'x.wav'), { signal: controller.signal }),
    );
    expect(err.code).toBe('processing_timeout');
    expect(Date.now() - started).toBeLessThan(1000);
    expect(requests).toHaveLength(1);
  });

  test('an answer without audio is voice_synthesis_failed', async () => {
    replies = () => ({ status: 200, json: {} });
    const err = await failure(engine().synthesize('Hello.', 'en', join(dir, 'x.wav')));
    expect(err.code).toBe('voice_synthesis_failed');
  });

  test('audio that is not a WAV is voice_synthesis_failed', async () => {
    replies = () => ({ status: 200, json: { audioContent: Buffer.from('ID3 not a wav').toString('base64') } });
    const err = await failure(engine().synthesize('Hello.', 'en', join(dir, 'x.wav')));
    expect(err.code).toBe('voice_synthesis_failed');
  });
});
