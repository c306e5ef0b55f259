/**
 * Graceful shutdown on SIGTERM (shared/lifecycle/shutdown.ts), in processes of their own as they
 * run deployed (a function under the functions-framework) and locally (`npm start`'s stack),
 * against a real PostgreSQL and real ffmpeg: a request in flight completes, one sent after the
 * signal is refused with 503 `shutting_down`, the process exits 0 with its pools closed; a job in
 * flight is released (waiting again, no attempt spent, its lease cleared, a turn published) and
 * another worker completes it; an event stream ends with a reconnect hint.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Knex } from 'knex';
import type { Stack } from '../../shared/local/stack';
import { closeTestEnv, newTenantKey, type TestEnv, useTestEnv } from '../support/database';
import { FileServer, serveDir } from '../support/file-server';
import { type ChildServer, startFunction, startLocalStack } from '../support/function-child';
import { makeClip } from '../support/media-fixtures';
import { startTestStack } from '../support/stack';
import { until } from '../support/webhook-fixtures';

let env: TestEnv;
let files: FileServer;
let scratch: string;
const children: ChildServer[] = [];
let stack: Stack | undefined;

/** The deadline of the children's shutdown: long, so that no step of a slow machine runs into it. */
const SHUTDOWN_SECONDS = '60';

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'aiprod-shutdown-scratch-'));
  env = await useTestEnv();
  const dir = mkdtempSync(join(tmpdir(), 'aiprod-shutdown-in-'));
  // Long enough that the job is still in ffmpeg when its process is stopped.
  makeClip(join(dir, 'clip.mp4'), { seconds: 60 });
  files = await serveDir(dir);
});

afterEach(async () => {
  await Promise.all(children.splice(0).map((c) => c.kill()));
});

afterAll(async () => {
  await stack?.stop();
  await files.close();
  await closeTestEnv();
});

async function pendingJob(tenantId: string, url = 'https://videos.example.com/in/clip.mp4'): Promise<string> {
  const id = randomUUID();
  await env.db('jobs').insert({
    id,
    tenant_id: tenantId,
    status: 'PENDING',
    recipe: 'dub',
    request: {
      video_url: url,
      voice_text: 'A line to read.',
      voice_language: 'en',
      music_style: 'calm',
      effects_preset: 'standard',
    },
  });
  return id;
}

/** True once a query of the child's pools waits on a lock (PostgreSQL sees the child's service name). */
async function waitingOnLock(service: string): Promise<boolean> {
  const { rows } = await env.db.raw(
    `SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = ? AND wait_event_type = 'Lock'`,
    [service],
  );
  return rows[0].n > 0;
}

const phase = (child: ChildServer, name: string) => child.logLines('shutdown phase').find((l) => l.phase === name);

describe.each([
  [
    'a function under the functions-framework',
    'pipeline-status',
    (e: Record<string, string>) => startFunction('pipeline-status', e),
  ],
  [
    "npm start's local stack",
    'local-stack',
    (e: Record<string, string>) => startLocalStack({ ...e, AIPROD_LOCAL_WORKERS: '0' }),
  ],
])('%s, stopped mid-request', (_what, service, launch) => {
  it('finishes the request in flight, refuses new ones with 503, closes its pools and exits 0', async () => {
    const { key, tenantId } = await newTenantKey(env.db);
    const jobId = await pendingJob(tenantId);
    const child = await launch({ AIPROD_SHUTDOWN_SECONDS: SHUTDOWN_SECONDS });
    children.push(child);
    const get = () => fetch(`${child.url}/pipeline/${jobId}`, { headers: { authorization: `Bearer ${key}` } });

    // The request reads the jobs table; holding a lock on it keeps the request in flight as long as the test likes.
    const lock: Knex.Transaction = await env.db.transaction();
    await lock.raw('LOCK TABLE jobs IN ACCESS EXCLUSIVE MODE');
    const inFlight = get();
    await until(() => waitingOnLock(service), 'the request to wait on the lock');

    child.proc.kill('SIGTERM');
    await child.logLine('shutdown started');
    const refused = await get();
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(refused.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(await refused.json()).toMatchObject({ status: 503, code: 'shutting_down' });

    await lock.commit();
    const answered = await inFlight;
    expect(answered.status).toBe(200);
    expect(await answered.json()).toMatchObject({ job_id: jobId, status: 'PENDING' });

    expect(await child.exited).toBe(0);
    expect(phase(child, 'in-flight')).toMatchObject({ outcome: 'done' });
    // The pools (and the Redis client) closed before the exit.
    expect(phase(child, 'close')).toMatchObject({ outcome: 'done' });
  });
});

/** The pids of the ffmpeg processes `pid` has started and that still run. */
function ffmpegChildren(pid: number): number[] {
  try {
    return execFileSync('pgrep', ['-P', String(pid), 'ffmpeg'], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean)
      .map(Number);
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('job-processor, stopped mid-job', () => {
  it('releases the job with its turn, exits 0, and another worker completes it', async () => {
    const { tenantId } = await newTenantKey(env.db, 'pro');
    const jobId = await pendingJob(tenantId, `${files.url}/clip.mp4`);
    const child = await startFunction('job-processor', {
      AIPROD_SCRATCH_DIR: scratch,
      AIPROD_SHUTDOWN_SECONDS: SHUTDOWN_SECONDS,
    });
    children.push(child);

    // The push a pipeline-jobs subscription sends, as Pub/Sub (and the local bus) deliver it.
    const delivery = fetch(`${child.url}/projects/local/topics/pipeline-jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        message: {
          data: Buffer.from(JSON.stringify({ job_id: jobId })).toString('base64'),
          attributes: { tenant_id: tenantId },
          messageId: 'shutdown-test-1',
          publishTime: new Date().toISOString(),
        },
        subscription: 'projects/local/subscriptions/job-processor-push',
        deliveryAttempt: 1,
      }),
    });
    const ffmpeg = await until(() => {
      const pids = ffmpegChildren(child.proc.pid!);
      return pids.length > 0 ? pids : null;
    }, 'the job to run ffmpeg');
    expect(await env.db('jobs').where({ id: jobId }).first()).toMatchObject({ status: 'PROCESSING', attempts: 1 });

    child.proc.kill('SIGTERM');
    // The delivery is acknowledged: the turn it was is handed on with the release.
    const acked = await delivery;
    expect(acked.status).toBeGreaterThanOrEqual(200);
    expect(acked.status).toBeLessThan(300);
    expect(await child.exited).toBe(0);
    expect(phase(child, 'release')).toMatchObject({ outcome: 'done' });

    expect(await env.db('jobs').where({ id: jobId }).first()).toMatchObject({
      status: 'PENDING',
      stage: 'queued',
      attempts: 0,
      lease_owner: null,
      lease_expires_at: null,
      result: null,
    });
    const turns = await env
      .db('bus_messages')
      .where({ subscription: 'job-processor-push', topic: 'pipeline-jobs' })
      .whereRaw(`attributes->>'turn' = 'handed-off'`);
    expect(turns.map((t) => JSON.parse(Buffer.from(t.data, 'base64').toString()))).toEqual([{ job_id: jobId }]);
    expect(turns[0].delivered_at).toBeNull();
    // Its ffmpeg was stopped and its scratch files removed.
    expect(ffmpeg.filter(alive)).toEqual([]);
    expect(readdirSync(scratch).filter((d) => d.startsWith('aiprod-job-'))).toEqual([]);

    // Another worker takes the turn and runs the job to the end, on its first counted attempt.
    stack = await startTestStack(env);
    await until(
      async () => (await env.db('jobs').where({ id: jobId }).first()).status === 'COMPLETED',
      'the job to complete on the other worker',
      120_000,
    );
    expect(await env.db('jobs').where({ id: jobId }).first()).toMatchObject({ attempts: 1, lease_owner: null });
    // That worker ran it on the turn the release published.
    await until(
      async () => (await env.db('bus_messages').where({ id: turns[0].id }).first()).delivered_at !== null,
      'the turn to be acknowledged',
    );
  }, 240_000);
});

describe('pipeline-events, stopped mid-stream', () => {
  it('ends the stream with a reconnect hint instead of holding the shutdown', async () => {
    const { key, tenantId } = await newTenantKey(env.db);
    const jobId = await pendingJob(tenantId);
    const child = await startFunction('pipeline-events', { AIPROD_SHUTDOWN_SECONDS: SHUTDOWN_SECONDS });
    children.push(child);
    const res = await fetch(`${child.url}/pipeline/${jobId}/events`, { headers: { authorization: `Bearer ${key}` } });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    let text = '';
    const decoder = new TextDecoder();
    // The stream has said where the job is before it is stopped.
    while (!text.includes('event: status')) text += decoder.decode((await reader.read()).value);

    child.proc.kill('SIGTERM');
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value);
    }
    expect(text).toMatch(/retry: \d+\n\n$/);
    expect(await child.exited).toBe(0);
    expect(phase(child, 'in-flight')).toMatchObject({ outcome: 'done' });
  });
});
