/**
 * Jobs against a voice provider that is down, on the local stack (push bus -> job-processor, real
 * ffmpeg, real PostgreSQL), with a double of ElevenLabs over HTTP that counts what reaches it: the
 * breaker opens on the first attempt's failures, the later attempts fail fast without a request
 * and are retried, the last one fails the job with voice_provider_unavailable; and once the
 * provider is back, the half-open trial closes the breaker and the waiting job completes.
 */
import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resetConfig } from '../../shared/config';
import { MAX_ATTEMPTS } from '../../shared/jobs/lease';
import type { Stack } from '../../shared/local/stack';
import { resetVoiceEngine, voiceEngine } from '../../shared/media';
import { breakerSeries, breakerState, untilBreakerState } from '../support/breaker-metrics';
import { closeTestEnv, newTenantKey, TestEnv, useTestEnv } from '../support/database';
import { FileServer, serveDir } from '../support/file-server';
import { makeClip } from '../support/media-fixtures';
import { startTestStack } from '../support/stack';
import { until } from '../support/webhook-fixtures';

const BREAKER = 'voice:elevenlabs';

let env: TestEnv;
let stack: Stack;
let files: FileServer;
let provider: Server;
let key: string;
let providerUp = false;
let requests = 0;

/** The variables this file sets, removed afterwards: a jest worker runs other files after this one. */
let variables: Record<string, string>;

beforeAll(async () => {
  provider = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      requests += 1;
      if (!providerUp) {
        res.writeHead(503, { 'content-type': 'application/json' });
        return void res.end(JSON.stringify({ detail: { status: 'system_busy', message: 'Heavy traffic.' } }));
      }
      // 1.5 s of a tone as 16-bit mono PCM at 44.1 kHz: a voice the mix can measure.
      const pcm = Buffer.alloc(2 * 44_100 * 1.5);
      for (let i = 0; i < pcm.length / 2; i++) pcm.writeInt16LE(Math.round(8000 * Math.sin(i / 20)), i * 2);
      res.writeHead(200, { 'content-type': 'audio/pcm' }).end(pcm);
    });
  });
  await new Promise<void>((resolve) => provider.listen(0, '127.0.0.1', resolve));
  variables = {
    AIPROD_VOICE_ENGINE: 'elevenlabs',
    ELEVENLABS_API_KEY: 'sk_test_breaker_jobs',
    ELEVENLABS_BASE_URL: `http://127.0.0.1:${(provider.address() as AddressInfo).port}`,
    // One job attempt makes four requests (the first and three retries): those open the breaker.
    AIPROD_BREAKER_MIN_CALLS: '4',
    // Longer than the first test runs, so every later attempt of its job meets an open breaker.
    AIPROD_BREAKER_RESET_MS: '600000',
  };
  env = await useTestEnv(variables);
  stack = await startTestStack(env);
  const dir = mkdtempSync(join(tmpdir(), 'aiprod-voice-breaker-'));
  makeClip(join(dir, 'clip.mp4'), { seconds: 3 });
  files = await serveDir(dir);
  key = (await newTenantKey(env.db, 'pro')).key;
});

afterAll(async () => {
  // Whatever beforeAll got to: the provider double and the environment go in any case.
  await stack?.stop();
  await files?.close();
  provider.closeAllConnections();
  await new Promise((resolve) => provider.close(resolve));
  await closeTestEnv();
  for (const name of Object.keys(variables)) delete process.env[name];
  resetConfig();
  resetVoiceEngine();
});

async function submit(): Promise<string> {
  const res = await fetch(`${stack.url}/pipeline/run`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ video_url: `${files.url}/clip.mp4`, voice_text: 'A short line to speak.' }),
  });
  const body = (await res.json()) as { job_id: string };
  expect(res.status).toBe(202);
  return body.job_id;
}

const job = (id: string) => env.db('jobs').where({ id }).first();
const rejectedCalls = async (): Promise<number> =>
  (await breakerSeries('aiprod_circuit_breaker_rejected_calls_total', BREAKER)) ?? 0;

it('fails fast while the breaker is open, retries the job later, and fails it with voice_provider_unavailable at the end', async () => {
  const rejectedBefore = await rejectedCalls();
  const id = await submit();

  // A later attempt ran, and the first one's failure did not end the job.
  const retried = await until(async () => {
    const row = await job(id);
    return row.attempts >= 2 ? row : null;
  }, 'a second attempt of the job');
  expect(retried.status).not.toBe('FAILED');
  expect(await breakerState(BREAKER)).toBe(2);

  const failed = await until(
    async () => {
      const row = await job(id);
      return row.status === 'FAILED' ? row : null;
    },
    'the job to fail',
    90_000,
  );
  expect(failed).toMatchObject({ error_code: 'voice_provider_unavailable', attempts: MAX_ATTEMPTS });
  expect(failed.error_message).toMatch(/no request is sent for now/);
  // Only the first attempt reached the provider; each later one was refused by the breaker.
  expect(requests).toBe(4);
  expect((await rejectedCalls()) - rejectedBefore).toBe(MAX_ATTEMPTS - 1);

  const status = await fetch(`${stack.url}/pipeline/${id}`, { headers: { authorization: `Bearer ${key}` } });
  expect(await status.json()).toMatchObject({ status: 'FAILED', error: { code: 'voice_provider_unavailable' } });
});

it('closes on the half-open trial once the provider is back, and the waiting job completes', async () => {
  // A new instance's engine, with a short reset: the trial comes before the job's next attempt.
  process.env.AIPROD_BREAKER_RESET_MS = '500';
  resetConfig();
  resetVoiceEngine();
  expect(voiceEngine().name).toBe('elevenlabs');
  expect(await breakerState(BREAKER)).toBe(0);
  requests = 0;
  providerUp = false;
  const id = await submit();

  await untilBreakerState(BREAKER, 2);
  providerUp = true;
  const done = await until(
    async () => {
      const row = await job(id);
      return ['COMPLETED', 'FAILED'].includes(row.status) ? row : null;
    },
    'the job to end',
    90_000,
  );
  expect(done).toMatchObject({ status: 'COMPLETED', error_code: null });
  expect(done.attempts).toBeGreaterThanOrEqual(2);
  // The first attempt's four failures, then the one trial request, which succeeded.
  expect(requests).toBe(5);
  expect(await breakerState(BREAKER)).toBe(0);
});
