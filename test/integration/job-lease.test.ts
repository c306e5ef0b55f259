/**
 * At-least-once delivery without double runs: conditional claims, a tier's share of the workers,
 * redelivery, a worker killed mid-job, and the sweeper, against the real database and real ffmpeg.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { resetConfig } from '../../shared/config';
import { enqueue } from '../../shared/events/outbox';
import { completeJob } from '../../shared/jobs/complete';
import { claimJob, MAX_ATTEMPTS } from '../../shared/jobs/lease';
import { JOB_LIMITS } from '../../shared/jobs/limits';
import { processJob } from '../../shared/jobs/process';
import { sweep } from '../../shared/jobs/sweep';
import { closeTestEnv, newTenantKey, TestEnv, useTestEnv } from '../support/database';
import { FileServer, serveDir } from '../support/file-server';
import { makeClip } from '../support/media-fixtures';

let env: TestEnv;
let files: FileServer;
let slowFiles: FileServer;
let tenantId: string;

beforeAll(async () => {
  env = await useTestEnv({ AIPROD_JOB_LEASE_SECONDS: '5' });
  const dir = mkdtempSync(join(tmpdir(), 'aiprod-lease-'));
  makeClip(join(dir, 'clip.mp4'), { seconds: 4 });
  files = await serveDir(dir);
  // ~8 s to download: long enough to kill the worker while it holds the lease.
  slowFiles = await serveDir(dir, { bytesPerSecond: 16 * 1024 });
  tenantId = (await newTenantKey(env.db)).tenantId;
});

afterAll(async () => {
  await files.close();
  await slowFiles.close();
  await closeTestEnv();
});

async function newJob(url = `${files.url}/clip.mp4`): Promise<string> {
  const id = randomUUID();
  await env.db('jobs').insert({
    id,
    tenant_id: tenantId,
    status: 'PENDING',
    request: {
      video_url: url,
      voice_text: 'Short words.',
      voice_language: 'en',
      music_style: 'calm',
      effects_preset: 'standard',
    },
  });
  return id;
}

const job = (id: string) => env.db('jobs').where({ id }).first();
const resultsFor = (id: string) =>
  env.db('outbox').where({ topic: 'job-results' }).whereRaw("payload->>'job_id' = ?", [id]);

it('lets exactly one of two concurrent claims win', async () => {
  const id = await newJob();
  const claims = await Promise.all([claimJob(env.db, id, 'a', 60), claimJob(env.db, id, 'b', 60)]);
  expect(claims.filter(Boolean)).toHaveLength(1);
});

it("claims no more of a tenant's jobs than its tier allows, and hands a freed slot on", async () => {
  const d = await newTenantKey(env.db, 'pro');
  const ids = Array.from({ length: 7 }, () => randomUUID());
  await env.db('jobs').insert(
    ids.map((id, i) => ({
      id,
      tenant_id: d.tenantId,
      status: 'PENDING',
      request: { video_url: `${files.url}/clip.mp4`, voice_text: `Line ${i}.` },
      created_at: env.db.raw('now() - make_interval(secs => ?)', [100 - i]),
    })),
  );
  // Seven turns at once, as seven instances would take them: the tier's five win.
  const claims = await Promise.all(ids.map((id, i) => claimJob(env.db, id, `worker-${i}`, 60)));
  const claimed = claims.filter((c) => c !== null);
  expect(claimed).toHaveLength(JOB_LIMITS.pro.concurrentJobs);
  expect(await claimJob(env.db, ids[6]!, 'late', 60)).toBeNull();
  const waiting = await env.db('jobs').where({ tenant_id: d.tenantId, status: 'PENDING' }).select('id', 'attempts');
  expect(waiting.map((w) => w.attempts)).toEqual([0, 0]);
  // One ends: its end hands the turn to the oldest waiting job, which may now be claimed.
  const first = claimed[0]!;
  await completeJob(env.db, first, first.lease_owner, { status: 'FAILED', code: 'x', message: 'y' });
  const turns = await env
    .db('outbox')
    .where({ topic: 'pipeline-jobs' })
    .whereRaw("attributes->>'turn' = 'handed-off' AND attributes->>'tenant_id' = ?", [d.tenantId]);
  const oldestWaiting = await env
    .db('jobs')
    .where({ tenant_id: d.tenantId, status: 'PENDING' })
    .orderBy('created_at')
    .first('id');
  expect(turns.map((t) => t.payload)).toEqual([{ job_id: oldestWaiting.id }]);
  const next = await claimJob(env.db, turns[0].payload.job_id, 'next', 60);
  expect(next?.id).toBe(oldestWaiting.id);
  expect(await claimJob(env.db, ids[6]!, 'later', 60)).toBeNull();
});

it('runs a job once when its message is delivered twice at the same time', async () => {
  const id = await newJob();
  await Promise.all([processJob(env.db, id), processJob(env.db, id)]);
  expect(await job(id)).toMatchObject({ status: 'COMPLETED', attempts: 1 });
  expect(await resultsFor(id)).toHaveLength(1);
});

it('leaves no scratch files behind, on success or failure', async () => {
  const scratch = mkdtempSync(join(tmpdir(), 'aiprod-scratch-'));
  process.env.AIPROD_SCRATCH_DIR = scratch;
  resetConfig();
  try {
    const ok = await newJob();
    const bad = await newJob(`${files.url}/missing.mp4`);
    const seen: string[] = [];
    const watching = setInterval(() => seen.push(...readdirSync(scratch)), 20);
    await processJob(env.db, ok);
    await processJob(env.db, bad);
    clearInterval(watching);
    expect(await job(ok)).toMatchObject({ status: 'COMPLETED' });
    expect(await job(bad)).toMatchObject({ status: 'FAILED', error_code: 'input_http_error' });
    // The jobs did work there, and took it all away.
    expect(seen.some((d) => d.startsWith('aiprod-job-'))).toBe(true);
    expect(readdirSync(scratch)).toEqual([]);
  } finally {
    delete process.env.AIPROD_SCRATCH_DIR;
    resetConfig();
  }
});

it('acknowledges a redelivery of a finished job without running it again', async () => {
  const id = await newJob();
  await processJob(env.db, id);
  const before = await job(id);
  await processJob(env.db, id);
  const after = await job(id);
  expect(after).toMatchObject({ status: 'COMPLETED', attempts: 1 });
  expect(after.completed_at).toEqual(before.completed_at);
  expect(await resultsFor(id)).toHaveLength(1);
});

it('takes over the job of a worker killed mid-job once its lease lapses, and finishes it once', async () => {
  const id = await newJob(`${slowFiles.url}/clip.mp4`);
  // node itself (not the tsx CLI, which runs a second process) so SIGKILL hits the worker.
  const child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, '../support/worker-child.ts'), id], {
    env: process.env,
    stdio: 'ignore',
  });
  const deadline = Date.now() + 30_000;
  while ((await job(id)).status !== 'PROCESSING') {
    if (Date.now() > deadline) throw new Error('the worker never claimed the job');
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  const orphan = await job(id);
  expect(orphan).toMatchObject({ status: 'PROCESSING', attempts: 1 });

  // A redelivery while the dead worker's lease still runs must not start a second run.
  await processJob(env.db, id);
  expect((await job(id)).attempts).toBe(1);

  await new Promise((r) => setTimeout(r, Math.max(0, new Date(orphan.lease_expires_at).getTime() - Date.now() + 200)));
  await processJob(env.db, id);
  expect(await job(id)).toMatchObject({ status: 'COMPLETED', attempts: 2 });
  expect(await resultsFor(id)).toHaveLength(1);
}, 90_000);

describe('sweeper', () => {
  it('requeues a job whose worker died and republishes it', async () => {
    const id = await newJob();
    await env
      .db('jobs')
      .where({ id })
      .update({
        status: 'PROCESSING',
        attempts: 1,
        lease_owner: 'dead',
        lease_expires_at: env.db.raw("now() - interval '5 minutes'"),
      });
    const report = await sweep(env.db);
    expect(report.requeued).toBeGreaterThanOrEqual(1);
    expect(await job(id)).toMatchObject({ status: 'PENDING', lease_owner: null });
    const message = await env
      .db('outbox')
      .where({ topic: 'pipeline-jobs' })
      .whereRaw("payload->>'job_id' = ?", [id])
      .first();
    expect(message.published_at).not.toBeNull();
  });

  it('fails a job that ran out of attempts, with a reason', async () => {
    const id = await newJob();
    await env
      .db('jobs')
      .where({ id })
      .update({
        status: 'PROCESSING',
        attempts: MAX_ATTEMPTS,
        lease_owner: 'dead',
        lease_expires_at: env.db.raw("now() - interval '1 minute'"),
      });
    // Its last worker, late on one renewal only, is not failed under it.
    const late = await newJob();
    await env
      .db('jobs')
      .where({ id: late })
      .update({
        status: 'PROCESSING',
        attempts: MAX_ATTEMPTS,
        lease_owner: 'late',
        lease_expires_at: env.db.raw("now() - interval '5 seconds'"),
      });
    await sweep(env.db);
    expect(await job(id)).toMatchObject({ status: 'FAILED', error_code: 'attempts_exhausted' });
    expect(await resultsFor(id)).toHaveLength(1);
    expect(await job(late)).toMatchObject({ status: 'PROCESSING', lease_owner: 'late' });
  });

  it('publishes outbox rows their writer never published, once their grace period is over', async () => {
    const { id } = await enqueue(env.db, 'job-results', { type: 'job.completed', job_id: randomUUID() });
    await sweep(env.db);
    expect((await env.db('outbox').where({ id }).first()).published_at).toBeNull();
    await env
      .db('outbox')
      .where({ id })
      .update({ next_attempt_at: env.db.raw("now() - interval '1 second'") });
    await sweep(env.db);
    expect((await env.db('outbox').where({ id }).first()).published_at).not.toBeNull();
  });

  it('leaves a job alone while its lease is valid', async () => {
    const id = await newJob();
    await env
      .db('jobs')
      .where({ id })
      .update({
        status: 'PROCESSING',
        attempts: 1,
        lease_owner: 'alive',
        lease_expires_at: env.db.raw("now() + interval '1 minute'"),
      });
    await sweep(env.db);
    expect(await job(id)).toMatchObject({ status: 'PROCESSING', lease_owner: 'alive' });
  });
});
