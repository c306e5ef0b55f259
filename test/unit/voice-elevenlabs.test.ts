import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MediaError } from '../../shared/media/errors';
import { elevenLabsVoiceEngine, type ElevenLabsVoiceOptions } from '../../shared/media/voice';
import { readWav } from '../../shared/media/voice/wav';

/** A double of api.elevenlabs.io: POST /v1/text-to-speech/{voice_id} answering raw PCM. */
type Reply = { status: number; headers?: Record<string, string>; body?: Buffer | string | object } | 'hang';

const API_KEY = 'sk_test_5f0c9d2e8a7b6c1d';
const VOICE_ID = 'voice/1 2';

let server: Server;
let baseUrl: string;
let dir: string;
let replies: (n: number) => Reply;
const requests: { at: number; method?: string; url: string; headers: IncomingHttpHeaders; body: any }[] = [];
const hanging: ServerResponse[] = [];

/** `n` distinct samples per request, all of value `n`, so pieces are told apart once joined. */
const pcmFor = (n: number): Buffer => Buffer.alloc(2 * 441 * n, n);
const audio = (n: number): Reply => ({ status: 200, headers: { 'content-type': 'audio/pcm' }, body: pcmFor(n) });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'voice-elevenlabs-'));
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      requests.push({ at: Date.now(), method: req.method, url: req.url ?? '', headers: req.headers, body });
      const reply = replies(requests.length);
      if (reply === 'hang') return void hanging.push(res);
      const payload =
        Buffer.isBuffer(reply.body) || typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body ?? {});
      res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers }).end(payload);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
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

const engine = (opts: Partial<ElevenLabsVoiceOptions> = {}) =>
  elevenLabsVoiceEngine({
    apiKey: API_KEY,
    voiceId: VOICE_ID,
    modelId: 'eleven_multilingual_v2',
    baseUrl,
    timeoutMs: 2000,
    retries: 2,
    backoffMs: 1,
    ...opts,
  });

async function failure(promise: Promise<unknown>): Promise<MediaError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(MediaError);
  const media = err as MediaError;
  expect(`${media.message} ${media.detail ?? ''}`).not.toContain(API_KEY);
  return media;
}

describe('ElevenLabs voice engine: requests', () => {
  test('posts the text with the key header and wraps the PCM it gets in a 44.1 kHz mono WAV', async () => {
    replies = audio;
    const out = join(dir, 'one.wav');
    await engine().synthesize('Guten Tag. Wie geht es?', 'de', out);

    expect(requests).toHaveLength(1);
    const [request] = requests;
    expect(request?.method).toBe('POST');
    expect(request?.url).toBe('/v1/text-to-speech/voice%2F1%202?output_format=pcm_44100');
    expect(request?.headers['xi-api-key']).toBe(API_KEY);
    expect(request?.headers['content-type']).toBe('application/json');
    // Multilingual v2 infers the language and refuses language_code.
    expect(request?.body).toEqual({ text: 'Guten Tag. Wie geht es?', model_id: 'eleven_multilingual_v2' });

    const written = await readFile(out);
    expect(written.toString('ascii', 0, 4)).toBe('RIFF');
    expect(readWav(written)).toEqual({ format: { sampleRate: 44_100, channels: 1 }, pcm: pcmFor(1) });
  });

  test('puts the voice asked for in the URL and the rate in voice_settings.speed, none at 1', async () => {
    replies = audio;
    const tts = engine({ voiceIds: ['other-voice', VOICE_ID] });
    expect(tts.voices.fr).toEqual([VOICE_ID, 'other-voice']);
    expect(tts.rates).toEqual({ min: 0.7, max: 1.2 });
    await tts.synthesize('Bonjour.', 'fr', join(dir, 'other.wav'), { voice: 'other-voice', rate: 1.2 });
    expect(requests[0]?.url).toBe('/v1/text-to-speech/other-voice?output_format=pcm_44100');
    expect(requests[0]?.body).toEqual({
      text: 'Bonjour.',
      model_id: 'eleven_multilingual_v2',
      voice_settings: { speed: 1.2 },
    });
    await tts.synthesize('Hello.', 'en', join(dir, 'default.wav'), { rate: 1 });
    expect(requests[1]?.url).toBe('/v1/text-to-speech/voice%2F1%202?output_format=pcm_44100');
    expect(requests[1]?.body).not.toHaveProperty('voice_settings');
  });

  test('refuses a voice that is not on offer before any request', async () => {
    replies = audio;
    const err = await failure(engine().synthesize('Hello.', 'en', join(dir, 'x.wav'), { voice: 'someone-else' }));
    expect(err.code).toBe('voice_synthesis_failed');
    expect(err.message).toContain('someone-else');
    expect(requests).toHaveLength(0);
  });

  test('names the language for a model that takes language_code', async () => {
    replies = audio;
    await engine({ modelId: 'eleven_flash_v2_5' }).synthesize('Ciao a tutti.', 'it', join(dir, 'it.wav'));
    expect(requests[0]?.body).toEqual({ text: 'Ciao a tutti.', model_id: 'eleven_flash_v2_5', language_code: 'it' });
  });

  test('speaks every app language with a multilingual model, English only with an English model', async () => {
    expect([...engine().languages].sort()).toEqual(['de', 'en', 'es', 'fr', 'it', 'ja', 'pt', 'zh']);
    const english = engine({ modelId: 'eleven_flash_v2' });
    expect(english.languages).toEqual(['en']);
    replies = audio;
    const err = await failure(english.synthesize('Bonjour.', 'fr', join(dir, 'fr.wav')));
    expect(err.code).toBe('voice_synthesis_failed');
    expect(requests).toHaveLength(0);
  });

  test('splits a text over 5000 characters at sentence ends and joins the audio in order', async () => {
    replies = audio;
    const sentence = (i: number): string => `Sentence number ${i} ${'is rather long '.repeat(70).trim()}. `;
    const text = Array.from({ length: 11 }, (_, i) => sentence(i))
      .join('')
      .trim();
    const out = join(dir, 'long.wav');
    await engine().synthesize(text, 'en', out);

    const sent = requests.map((r) => r.body.text as string);
    expect(sent.length).toBe(3);
    for (const piece of sent) {
      expect(piece.length).toBeLessThanOrEqual(5000);
      expect(piece).toMatch(/^Sentence number \d+ .*\.$/s);
    }
    expect(sent.join(' ')).toBe(text);
    expect(readWav(await readFile(out)).pcm).toEqual(Buffer.concat([pcmFor(1), pcmFor(2), pcmFor(3)]));
  });

  test('uses the fetch it is given', async () => {
    const seen: string[] = [];
    const spy: typeof fetch = (input, init) => {
      seen.push(String(input));
      return fetch(input, init);
    };
    replies = audio;
    await engine({ fetch: spy, baseUrl: baseUrl.replace(/\/$/, '') }).synthesize('Hello.', 'en', join(dir, 'spy.wav'));
    expect(seen).toEqual([`${baseUrl}v1/text-to-speech/voice%2F1%202?output_format=pcm_44100`]);
  });
});

describe('ElevenLabs voice engine: failures', () => {
  test('waits as long as Retry-After asks after a 429, then succeeds', async () => {
    const busy = { detail: { status: 'too_many_concurrent_requests', message: 'Busy' } };
    replies = (n) => (n === 1 ? { status: 429, headers: { 'retry-after': '1' }, body: busy } : audio(n));
    const out = join(dir, 'retried.wav');
    await engine().synthesize('Hello.', 'en', out);
    expect(requests).toHaveLength(2);
    const [first, second] = requests;
    expect((second?.at ?? 0) - (first?.at ?? 0)).toBeGreaterThanOrEqual(950);
    expect(readWav(await readFile(out)).pcm).toEqual(pcmFor(2));
  });

  test('retries a 500 and succeeds', async () => {
    replies = (n) => (n === 1 ? { status: 500, body: 'Internal Server Error' } : audio(n));
    await engine().synthesize('Hello.', 'en', join(dir, 'x.wav'));
    expect(requests).toHaveLength(2);
  });

  test('a 503 that never ends is voice_provider_unavailable after every attempt', async () => {
    replies = () => ({
      status: 503,
      body: { detail: { status: 'system_busy', message: 'We are experiencing heavy traffic' } },
    });
    const err = await failure(engine({ retries: 3 }).synthesize('Hello.', 'en', join(dir, 'x.wav')));
    expect(err.code).toBe('voice_provider_unavailable');
    expect(err.message).toMatch(/4 attempts.*heavy traffic/);
    expect(requests).toHaveLength(4);
  });

  test('a Retry-After longer than a job should wait gives up at once', async () => {
    replies = () => ({ status: 429, headers: { 'retry-after': '3600' }, body: {} });
    const err = await failure(engine().synthesize('Hello.', 'en', join(dir, 'x.wav')));
    expect(err.code).toBe('voice_provider_unavailable');
    expect(err.message).toMatch(/HTTP 429.*asked to wait 3600 s/);
    expect(requests).toHaveLength(1);
  });

  test.each([
    [
      400,
      { detail: { status: 'invalid_voice_settings', message: 'Voice settings are invalid' } },
      /Voice settings are invalid/,
    ],
    [
      401,
      { detail: { status: 'invalid_api_key', message: `Invalid API key: ${API_KEY}` } },
      /Invalid API key: \[redacted\]/,
    ],
    [
      403,
      { detail: { status: 'output_format_not_allowed', message: 'pcm_44100 needs a Pro plan' } },
      /needs a Pro plan/,
    ],
    [
      422,
      { detail: [{ loc: ['body', 'text'], msg: 'field required', type: 'value_error.missing' }] },
      /field required/,
    ],
  ])('a %i is voice_rejected at once, with ElevenLabs’ reason and never the key', async (status, body, reason) => {
    replies = () => ({ status, body });
    const err = await failure(engine().synthesize('Hello.', 'en', join(dir, 'x.wav')));
    expect(err.code).toBe('voice_rejected');
    expect(err.message).toMatch(new RegExp(`HTTP ${status}`));
    expect(err.message).toMatch(reason);
    expect(requests).toHaveLength(1);
  });

  test('no answer in time is voice_provider_unavailable after every attempt', async () => {
    replies = () => 'hang';
    const err = await failure(engine({ timeoutMs: 150, retries: 1 }).synthesize('Hello.', 'en', join(dir, 'x.wav')));
    expect(err.code).toBe('voice_provider_unavailable');
    expect(err.message).toMatch(/no answer within 150 ms/);
    expect(requests).toHaveLength(2);
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
  });

  test('the caller’s abort during a backoff ends it with processing_timeout', async () => {
    replies = () => ({ status: 429, headers: { 'retry-after': '20' }, body: {} });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const err = await failure(engine().synthesize('Hello.', 'en', join(dir, 'x.wav'), { signal: controller.signal }));
    expect(err.code).toBe('processing_timeout');
    expect(requests).toHaveLength(1);
  });

  test('a lost connection is retried, then voice_provider_unavailable, without the key', async () => {
    let calls = 0;
    const broken: typeof fetch = async () => {
      calls += 1;
      throw new TypeError('fetch failed', { cause: new Error(`socket hang up (key ${API_KEY})`) });
    };
    const err = await failure(engine({ fetch: broken }).synthesize('Hello.', 'en', join(dir, 'x.wav')));
    expect(err.code).toBe('voice_provider_unavailable');
    expect(err.message).toMatch(/socket hang up/);
    expect(calls).toBe(3);
  });
});
