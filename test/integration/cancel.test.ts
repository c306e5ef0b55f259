/**
 * Cancelling jobs on the local stack with real jobs (push bus -> job-processor, real ffmpeg): a
 * waiting job is cancelled at once and never runs; a running one stops within seconds, its scratch
 * files removed, nothing of its run written, and its slot goes to the tenant's next job; CANCELLED
 * shows in the status, the result, the event stream and the webhook event.
 */
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Stack } from '../../shared/local/stack';
import { closeTestEnv, newTenantKey, TestEnv, useTestEnv } from '../support/database';
import { startTestStack } from '../support/stack';
import { FileServer, serveDir } from '../support/file-server';
import { makeClip } from '../support/media-fixtures';
import { insertWebhook, until } from '../support/webhook-fixtures';

let env: TestEnv;
let stack: Stack;
let files: FileServer;
let slowFiles: FileServer;
let scratch: string;

async function call(key: string, method: string, path: string, json?: unknown) {
  const res = await fetch(`${stack.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(json === undefined ? {} : { 'content-type': 'application/json' }) },
    body: json === undefined ? undefined : JSON.stringify(json),
  });
  const text = await res.text();
  let body: Record<string, any> = {};
  try {
    body = JSON.parse(text) as Record<string, any>;
  } catch {
    body = { text };
  }
  return { status: res.status, headers: res.headers, text, body };
}

const dub = (url: string) => ({ video_url: url, voice_text: 'A short line.' });

async function submit(key: string, url: string): Promise<string> {
  const r = await call(key, 'POST', '/pipeline/run', dub(url));
  if (r.status !== 202) throw new Error(`submit answered ${r.status}: ${r.text}`);
  return r.body.job_id as string;
}

/** The scratch directories of jobs (shared/jobs/process.ts names them). */
const jobDirs = (): string[] => readdirSync(scratch).filter((d) => d.startsWith('aiprod-job-'));

const job = (id: string) => env.db('jobs').where({ id }).first();
const statusOf = async (id: string) => (await job(id)).status as string;

beforeAll(async () => {
  // A scratch directory of their own shows what the jobs leave behind.
  scratch = mkdtempSync(join(tmpdir(), 'aiprod-cancel-scratch-'));
  env = await useTestEnv({ AIPROD_SCRATCH_DIR: scratch });
  stack = await startTestStack(env);
  const dir = mkdtempSync(join(tmpdir(), 'aiprod-cancel-in-'));
  makeClip(join(dir, 'clip.mp4'), { seconds: 4 });
  files = await serveDir(dir);
  // ~8 s to download: the job is still running when it is cancelled.
  slowFiles = await serveDir(dir, { bytesPerSecond: 16 * 1024 });
});

afterAll(async () => {
  await stack.stop();
  await files.close();
  await slowFiles.close();
  await closeTestEnv();
  delete process.env.AIPROD_SCRATCH_DIR;
});

it('cancels a waiting job at once and a running one within seconds, handing its slot on', async () => {
  // Free tier: one job at a time, so the second waits behind the first.
  const { key, tenantId } = await newTenantKey(env.db, 'free');
  const hook = await insertWebhook(env.db, { tenantId, url: 'https://127.0.0.1:9/hook', events: ['job.cancelled'] });
  const running = await submit(key, `${slowFiles.url}/clip.mp4`);
  await until(async () => (await statusOf(running)) === 'PROCESSING', 'the first job to start');
  const [runDir] = await until(() => {
    const dirs = jobDirs();
    return dirs.length === 1 ? dirs : null;
  }, "the running job's scratch directory");
  const waiting = await submit(key, `${files.url}/clip.mp4`);
  const third = await submit(key, `${files.url}/clip.mp4`);

  const cancelled = await call(key, 'POST', `/pipeline/${waiting}/cancel`);
  expect(cancelled.status).toBe(200);
  expect(cancelled.body).toMatchObject({ job_id: waiting, status: 'CANCELLED', cancelled_at: expect.any(String) });
  expect(await job(waiting)).toMatchObject({ status: 'CANCELLED', attempts: 0, started_at: null });

  const stopped = await call(key, 'POST', `/pipeline/${running}/cancel`);
  expect(stopped.status).toBe(200);
  expect(stopped.body.status).toBe('CANCELLED');
  // The worker sees it at its next lease renewal (a few seconds), stops and cleans up.
  await until(() => !jobDirs().includes(runDir!), 'the cancelled job to remove its scratch files', 15_000);
  // Its slot went to the next waiting job, which runs to the end.
  await until(async () => (await statusOf(third)) === 'COMPLETED', 'the third job to complete', 90_000);
  expect(await job(running)).toMatchObject({ status: 'CANCELLED', result: null, attempts: 1 });
  expect((await job(waiting)).attempts).toBe(0);

  // In every view: the status, the result, the event stream, the webhook event.
  const status = await call(key, 'GET', `/pipeline/${running}`);
  expect(status.body).toMatchObject({ status: 'CANCELLED', cancelled_at: expect.any(String) });
  const result = await call(key, 'GET', `/pipeline/${running}/result`);
  expect(result.status).toBe(409);
  expect(result.body.code).toBe('job_cancelled');
  const events = await call(key, 'GET', `/pipeline/${running}/events`);
  expect(events.text).toMatch(/event: cancelled\ndata: \{[^\n]*"status":"CANCELLED"/);
  const deliveries = await until(async () => {
    const rows = await env.db('webhook_deliveries').where({ webhook_id: hook.id });
    return rows.length === 2 ? rows : null;
  }, 'both job.cancelled deliveries');
  expect(deliveries.map((d) => d.event_type)).toEqual(['job.cancelled', 'job.cancelled']);
  expect(deliveries.map((d) => JSON.parse(d.body).data.job_id).sort()).toEqual([running, waiting].sort());
});

it('answers 200 again for a cancelled job, 409 for an ended one, 404 for another tenant', async () => {
  const { key } = await newTenantKey(env.db, 'pro');
  const other = await newTenantKey(env.db, 'pro');
  const done = await submit(key, `${files.url}/clip.mp4`);
  await until(async () => (await statusOf(done)) === 'COMPLETED', 'the job to complete', 90_000);
  const ended = await call(key, 'POST', `/pipeline/${done}/cancel`);
  expect(ended.status).toBe(409);
  expect(ended.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(ended.body.code).toBe('job_not_cancellable');

  const slow = await submit(key, `${slowFiles.url}/clip.mp4`);
  expect((await call(other.key, 'POST', `/pipeline/${slow}/cancel`)).status).toBe(404);
  expect((await call(key, 'POST', '/pipeline/00000000-0000-4000-8000-000000000000/cancel')).status).toBe(404);
  expect((await call(key, 'POST', `/pipeline/${slow}/cancel`)).body.status).toBe('CANCELLED');
  const again = await call(key, 'POST', `/pipeline/${slow}/cancel`);
  expect(again.status).toBe(200);
  expect(again.body.status).toBe('CANCELLED');
});
