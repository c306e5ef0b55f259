/**
 * The voice providers' circuit breakers over real HTTP: a double of ElevenLabs and of Google's
 * REST face that can be down (503), refuse the request (4xx) or answer, and counts what reaches it.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resetConfig } from '../../shared/config';
import { MediaError } from '../../shared/media/errors';
import { elevenLabsVoiceEngine, googleVoiceEngine, type VoiceEngine } from '../../shared/media/voice';
import { readWav, wavFile } from '../../shared/media/voice/wav';
import { breakerSeries, breakerState, untilBreakerState } from '../support/breaker-metrics';

type Mode = 'down' | 'refusing' | 'up';

let server: Server;
let port: number;
let dir: string;
let mode: Mode;
let requests = 0;

const BREAKER_ENV = { AIPROD_BREAKER_MIN_CALLS: '4', AIPROD_BREAKER_RESET_MS: '1500' };
const saved = Object.fromEntries(Object.keys(BREAKER_ENV).map((name) => [name, process.env[name]]));

const pcm = Buffer.alloc(2 * 4410, 7);
const googleWav = wavFile({ sampleRate: 48_000, channels: 1 }, [Buffer.alloc(2 * 4800, 9)]);

beforeAll(async () => {
  Object.assign(process.env, BREAKER_ENV);
  resetConfig();
  dir = await mkdtemp(join(tmpdir(), 'voice-breaker-'));
  server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      requests += 1;
      const google = !req.url?.startsWith('/v1/text-to-speech/');
      if (mode === 'down') {
        const error = google
          ? { error: { code: 503, message: 'The service is currently unavailable.', status: 'UNAVAILABLE' } }
          : { detail: { status: 'system_busy', message: 'We are experiencing heavy traffic.' } };
        return void res.writeHead(503, { 'content-type': 'application/json' }).end(JSON.stringify(error));
      }
      if (mode === 'refusing') {
        const error = google
          ? { error: { code: 400, message: 'Invalid voice name.', status: 'INVALID_ARGUMENT' } }
          : { detail: { status: 'voice_not_found', message: 'A voice with that id was not found.' } };
        return void res
          .writeHead(google ? 400 : 404, { 'content-type': 'application/json' })
          .end(JSON.stringify(error));
      }
      if (google) {
        res.writeHead(200, { 'content-type': 'application/json' });
        return void res.end(JSON.stringify({ audioContent: googleWav.toString('base64') }));
      }
      res.writeHead(200, { 'content-type': 'audio/pcm' }).end(pcm);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});

beforeEach(() => {
  requests = 0;
});

afterAll(async () => {
  for (const [name, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  resetConfig();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await rm(dir, { recursive: true, force: true });
});

const elevenLabs = (retries = 3): VoiceEngine =>
  elevenLabsVoiceEngine({
    apiKey: 'sk_test_breaker',
    voiceId: 'v',
    modelId: 'eleven_multilingual_v2',
    baseUrl: `http://127.0.0.1:${port}`,
    timeoutMs: 5000,
    retries,
    backoffMs: 1,
  });

const google = (): VoiceEngine =>
  googleVoiceEngine({ apiEndpoint: `127.0.0.1:${port}`, timeoutMs: 5000, retries: 3, backoffMs: 1 });

/** A breaker counter's value: process-wide per name, so tests compare before and after. */
const counter = async (what: 'failures' | 'rejected_calls', name: string): Promise<number> =>
  (await breakerSeries(`aiprod_circuit_breaker_${what}_total`, name)) ?? 0;

async function failure(promise: Promise<unknown>): Promise<MediaError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(MediaError);
  return err as MediaError;
}

describe.each([
  ['voice:elevenlabs', elevenLabs],
  ['voice:google', google],
])('%s', (name, make) => {
  test('opens after the threshold, refuses without a request while open, and closes on a good trial', async () => {
    mode = 'down';
    const engine = make();
    const out = join(dir, `${name.replace(':', '-')}.wav`);
    const failedBefore = await counter('failures', name);
    const rejectedBefore = await counter('rejected_calls', name);

    // One synthesis: its first request and three retries, each a failure the breaker counts.
    const first = await failure(engine.synthesize('Hello there.', 'en', out));
    expect(first.code).toBe('voice_provider_unavailable');
    expect(first.message).toMatch(/4 attempts failed/);
    expect(requests).toBe(4);
    expect(await breakerState(name)).toBe(2);
    expect((await counter('failures', name)) - failedBefore).toBe(4);

    // Open: the same code at once, and nothing reaches the provider.
    for (let i = 0; i < 3; i++) {
      const refused = await failure(engine.synthesize('Hello there.', 'en', out));
      expect(refused.code).toBe('voice_provider_unavailable');
      expect(refused.message).toMatch(/no request is sent for now/);
      expect(refused.detail).toMatch(new RegExp(`circuit breaker ${name} is open`));
    }
    expect(requests).toBe(4);
    expect((await counter('rejected_calls', name)) - rejectedBefore).toBe(3);

    // The provider is back; after the reset time one trial request goes through and closes it.
    mode = 'up';
    await untilBreakerState(name, 1);
    await engine.synthesize('Hello there.', 'en', out);
    expect(requests).toBe(5);
    expect(await breakerState(name)).toBe(0);
    expect(readWav(await readFile(out)).pcm.length).toBeGreaterThan(0);
    await engine.synthesize('And again.', 'en', out);
    expect(requests).toBe(6);
  });

  test('a refusal of the request never opens it: the provider answered', async () => {
    mode = 'refusing';
    const engine = make();
    const failedBefore = await counter('failures', name);
    for (let i = 0; i < 6; i++) {
      const err = await failure(engine.synthesize('Hello there.', 'en', join(dir, 'refused.wav')));
      expect(err.code).toBe('voice_rejected');
    }
    // Not retried, not counted: every call made its one request.
    expect(requests).toBe(6);
    expect(await breakerState(name)).toBe(0);
    expect(await counter('failures', name)).toBe(failedBefore);
  });
});

test('each retry counts: a breaker that opens during one synthesis stops its retries at once', async () => {
  mode = 'down';
  const engine = elevenLabs(6);
  const err = await failure(engine.synthesize('Hello there.', 'en', join(dir, 'mid.wav')));
  expect(err.code).toBe('voice_provider_unavailable');
  // Seven attempts were allowed; the fourth failure opened the breaker and the fifth was refused.
  expect(requests).toBe(4);
  expect(err.message).toMatch(/no request is sent for now \(4 attempts failed first, the last with: HTTP 503/);
});
