/**
 * Job stage and metadata, and GET /pipeline/{id}/events, on the local stack: real PostgreSQL, real
 * HTTP through the gateway, a real job through the push bus and ffmpeg. The stream is read raw
 * with fetch and parsed here, as a client would. Jobs that must hold still are written straight
 * into the database (no message, so no worker takes them) and moved by hand.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resetConfig } from '../../shared/config';
import { eventsToken } from '../../shared/jobs/events-url';
import { JOB_STAGES } from '../../shared/jobs/stages';
import type { Stack } from '../../shared/local/stack';
import { closeTestEnv, newTenantKey, TestEnv, useTestEnv } from '../support/database';
import { startTestStack } from '../support/stack';
import { FileServer, serveDir } from '../support/file-server';
import { makeClip } from '../support/media-fixtures';

let env: TestEnv;
let stack: Stack;
let files: FileServer;
let key: string;
let tenantId: string;

const auth = (k = key) => ({ authorization: `Bearer ${k}` });

interface Message {
  id?: string;
  event?: string;
  data?: any;
  retry?: number;
  comment?: string;
}

function parseBlock(block: string): Message {
  const m: Message = {};
  for (const line of block.split('\n')) {
    if (line.startsWith(':')) {
      m.comment = line.slice(1).trim();
      continue;
    }
    const at = line.indexOf(':');
    const field = at < 0 ? line : line.slice(0, at);
    const value = at < 0 ? '' : line.slice(at + 1).replace(/^ /, '');
    if (field === 'id') m.id = value;
    else if (field === 'event') m.event = value;
    else if (field === 'data') m.data = JSON.parse(value);
    else if (field === 'retry') m.retry = Number(value);
  }
  return m;
}

/** An SSE client over fetch: messages one by one (comments included), null once the stream has ended. */
async function openStream(url: string, headers: Record<string, string> = {}) {
  const controller = new AbortController();
  const res = await fetch(url, { headers, signal: controller.signal });
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  let ended = false;
  const next = async (): Promise<Message | null> => {
    for (;;) {
      const at = buffer.indexOf('\n\n');
      if (at >= 0) {
        const block = buffer.slice(0, at);
        buffer = buffer.slice(at + 2);
        return parseBlock(block);
      }
      if (ended) return null;
      const chunk = await reader.read();
      if (chunk.done) ended = true;
      else buffer += decoder.decode(chunk.value, { stream: true });
    }
  };
  /** The next message that is an event (heartbeats and hints skipped). */
  const nextEvent = async (): Promise<Message | null> => {
    for (;;) {
      const m = await next();
      if (!m || m.event) return m;
    }
  };
  /** Every message up to the end of the stream. */
  const rest = async (): Promise<Message[]> => {
    const all: Message[] = [];
    for (let m = await next(); m; m = await next()) all.push(m);
    return all;
  };
  return { res, next, nextEvent, rest, close: () => controller.abort() };
}

const eventsOf = (messages: Message[]) => messages.filter((m) => m.event);

/** A job no worker will take: no message announces it. */
async function heldJob(): Promise<string> {
  const id = randomUUID();
  await env.db('jobs').insert({
    id,
    tenant_id: tenantId,
    status: 'PENDING',
    recipe: 'dub',
    request: { recipe: 'dub', video_url: 'https://videos.example.com/a.mp4', voice_text: 'Held still for a test.' },
    metadata: JSON.stringify({ order: 'A-1' }),
  });
  return id;
}

const moveJob = (id: string, change: Record<string, unknown>) => env.db('jobs').where({ id }).update(change);

beforeAll(async () => {
  env = await useTestEnv({ AIPROD_SSE_POLL_MS: '25', AIPROD_SSE_HEARTBEAT_MS: '100' });
  // Every stage a job is written with, in order, as the database saw it.
  await env.db.raw(`CREATE TABLE test_stage_log (n bigserial PRIMARY KEY, job_id uuid, stage text, status text)`);
  await env.db.raw(`
    CREATE FUNCTION test_log_stage() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO test_stage_log (job_id, stage, status) VALUES (NEW.id, NEW.stage, NEW.status);
      RETURN NEW;
    END $$`);
  await env.db.raw(`CREATE TRIGGER test_log_stage AFTER UPDATE OF stage ON jobs FOR EACH ROW
    WHEN (OLD.stage IS DISTINCT FROM NEW.stage) EXECUTE FUNCTION test_log_stage()`);
  stack = await startTestStack(env);
  const dir = mkdtempSync(join(tmpdir(), 'aiprod-events-in-'));
  makeClip(join(dir, 'clip.mp4'), { seconds: 4 });
  files = await serveDir(dir);
  ({ key, tenantId } = await newTenantKey(env.db));
});

afterAll(async () => {
  await stack.stop();
  await files.close();
  await closeTestEnv();
});

describe('a real job, followed live', () => {
  const metadata = { order: 'PO-1234', 'campaign.name': 'spring_launch', empty: '' };
  let jobId: string;
  let messages: Message[];

  beforeAll(async () => {
    const res = await fetch(`${stack.url}/pipeline/run`, {
      method: 'POST',
      headers: { ...auth(), 'content-type': 'application/json' },
      body: JSON.stringify({
        video_url: `${files.url}/clip.mp4`,
        voice_text: 'A few words for the stream.',
        metadata,
      }),
    });
    expect(res.status).toBe(202);
    jobId = ((await res.json()) as { job_id: string }).job_id;
    const stream = await openStream(`${stack.url}/pipeline/${jobId}/events`, auth());
    expect(stream.res.status).toBe(200);
    expect(stream.res.headers.get('content-type')).toBe('text/event-stream');
    expect(stream.res.headers.get('cache-control')).toBe('no-store');
    expect(stream.res.headers.get('x-accel-buffering')).toBe('no');
    messages = await stream.rest();
  });

  it('streams status and progress with the stage, then the completed event, then ends', () => {
    const events = eventsOf(messages);
    expect(events[0]).toMatchObject({ event: 'status', data: { job_id: jobId } });
    const progress = events.filter((e) => e.event === 'progress');
    expect(progress.length).toBeGreaterThan(1);
    const percents = progress.map((e) => e.data.progress);
    expect(percents).toEqual([...percents].sort((a, b) => a - b));
    const order = progress.map((e) => JOB_STAGES.indexOf(e.data.stage));
    expect(order.every((i) => i >= 0)).toBe(true);
    expect(order).toEqual([...order].sort((a, b) => a - b));
    expect(events.at(-1)).toMatchObject({
      event: 'completed',
      data: { job_id: jobId, status: 'COMPLETED', progress: 100, stage: 'done', metadata },
    });
    expect(events.filter((e) => ['completed', 'failed'].includes(e.event!))).toHaveLength(1);
    // Numbered, every id above the one before.
    const ids = events.map((e) => Number(e.id));
    expect(ids.every((id, i) => Number.isInteger(id) && (i === 0 || id > ids[i - 1]!))).toBe(true);
  });

  it('writes every stage the job goes through, in order', async () => {
    const log = await env.db('test_stage_log').where({ job_id: jobId }).orderBy('n').select('stage', 'status');
    // A dub with generated music: the music is made in the mix, so there is no music stage.
    expect(log.map((r) => r.stage)).toEqual(['fetching', 'voice', 'mixing', 'encoding', 'storing', 'done']);
    expect(log.at(-1)).toEqual({ stage: 'done', status: 'COMPLETED' });
    expect(log.slice(0, -1).every((r) => r.status === 'PROCESSING')).toBe(true);
  });

  it('echoes the metadata in the status, the result and the job-results message', async () => {
    const status = (await (await fetch(`${stack.url}/pipeline/${jobId}`, { headers: auth() })).json()) as any;
    expect(status).toMatchObject({ status: 'COMPLETED', stage: 'done', progress: 100, metadata });
    const result = (await (await fetch(`${stack.url}/pipeline/${jobId}/result`, { headers: auth() })).json()) as any;
    expect(result).toMatchObject({ status: 'COMPLETED', metadata, content_type: 'video/mp4' });
    const [message] = await env
      .db('outbox')
      .where({ topic: 'job-results' })
      .whereRaw("payload->>'job_id' = ?", [jobId]);
    expect(message.payload).toEqual({
      type: 'job.completed',
      job_id: jobId,
      tenant_id: tenantId,
      status: 'COMPLETED',
      metadata,
    });
    // The recipe's request is kept without it.
    const row = await env.db('jobs').where({ id: jobId }).first('request', 'metadata');
    expect(row.metadata).toEqual(metadata);
    expect(row.request.metadata).toBeUndefined();
  });

  it('gives a client reconnecting after the end just the final event, and once it has it, 204', async () => {
    const events = eventsOf(messages);
    const final = events.at(-1)!;
    const again = await openStream(`${stack.url}/pipeline/${jobId}/events`, {
      ...auth(),
      'last-event-id': events[1]!.id!,
    });
    expect(eventsOf(await again.rest())).toEqual([final]);
    const fresh = await openStream(`${stack.url}/pipeline/${jobId}/events`, auth());
    expect(eventsOf(await fresh.rest())).toEqual([final]);
    const done = await fetch(`${stack.url}/pipeline/${jobId}/events`, {
      headers: { ...auth(), 'last-event-id': final.id! },
    });
    expect(done.status).toBe(204);
  });
});

describe('resuming with Last-Event-ID', () => {
  it('sends what the client has not seen and nothing it has', async () => {
    const id = await heldJob();
    const url = `${stack.url}/pipeline/${id}/events`;

    const first = await openStream(url, auth());
    const status = await first.nextEvent();
    const progress = await first.nextEvent();
    expect(status).toMatchObject({ event: 'status', data: { status: 'PENDING', progress: 0, stage: 'queued' } });
    expect(progress).toMatchObject({ event: 'progress', data: { progress: 0, stage: 'queued' } });
    first.close();

    // Nothing changed: only heartbeats until something does.
    const second = await openStream(url, { ...auth(), 'last-event-id': progress!.id! });
    expect(await second.next()).toEqual({ comment: 'ping' });
    await moveJob(id, { status: 'PROCESSING', stage: 'fetching', started_at: env.db.fn.now() });
    const started = await second.nextEvent();
    const fetching = await second.nextEvent();
    expect(started).toMatchObject({ event: 'status', data: { status: 'PROCESSING', progress: 0, stage: 'fetching' } });
    expect(fetching).toMatchObject({ event: 'progress', data: { progress: 0, stage: 'fetching' } });
    expect(Number(started!.id)).toBeGreaterThan(Number(progress!.id));
    await moveJob(id, { progress: 40, stage: 'voice' });
    const voice = await second.nextEvent();
    expect(voice).toMatchObject({ event: 'progress', data: { progress: 40, stage: 'voice' } });
    second.close();

    // Seen: the status change but not the progress that came with it. Then the job moves on and ends.
    const third = await openStream(url, { ...auth(), 'last-event-id': started!.id! });
    const caughtUp = await third.nextEvent();
    expect(caughtUp).toMatchObject({ event: 'progress', data: { progress: 40, stage: 'voice' } });
    expect(Number(caughtUp!.id)).toBeGreaterThan(Number(started!.id));
    await moveJob(id, { progress: 70, stage: 'encoding' });
    expect(await third.nextEvent()).toMatchObject({ event: 'progress', data: { progress: 70, stage: 'encoding' } });
    await moveJob(id, {
      status: 'FAILED',
      error_code: 'voice_too_long',
      error_message: 'too long',
      completed_at: env.db.fn.now(),
    });
    const rest = eventsOf(await third.rest());
    expect(rest).toEqual([
      expect.objectContaining({
        event: 'failed',
        data: expect.objectContaining({
          status: 'FAILED',
          stage: 'encoding',
          progress: 70,
          metadata: { order: 'A-1' },
          error: { code: 'voice_too_long', message: 'too long' },
        }),
      }),
    ]);
  });

  it('starts afresh from an id it did not issue', async () => {
    const id = await heldJob();
    const stream = await openStream(`${stack.url}/pipeline/${id}/events`, { ...auth(), 'last-event-id': 'abc' });
    expect(await stream.nextEvent()).toMatchObject({ event: 'status', data: { status: 'PENDING' } });
    stream.close();
  });
});

describe('the signed events_url', () => {
  it('opens the stream without a header', async () => {
    const id = await heldJob();
    const status = (await (await fetch(`${stack.url}/pipeline/${id}`, { headers: auth() })).json()) as any;
    expect(status.events_url).toMatch(new RegExp(`/pipeline/${id}/events\\?token=`));
    const expires = Date.parse(status.events_url_expires_at) - Date.now();
    expect(expires).toBeGreaterThan(3500_000);
    expect(expires).toBeLessThanOrEqual(3600_000);
    const stream = await openStream(status.events_url);
    expect(stream.res.status).toBe(200);
    expect(stream.res.headers.get('access-control-allow-origin')).toBe('*');
    expect(await stream.nextEvent()).toMatchObject({ event: 'status', data: { job_id: id, status: 'PENDING' } });
    stream.close();
  });

  it('answers 401 for a forged, altered, misplaced or expired token', async () => {
    const id = await heldJob();
    const other = await heldJob();
    const { events_url: url } = (await (await fetch(`${stack.url}/pipeline/${id}`, { headers: auth() })).json()) as any;
    const token = new URL(url).searchParams.get('token')!;
    const flipped = token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A');
    const expired = eventsToken(id, tenantId, Math.floor(Date.now() / 1000) - 1);
    const cases: [string, string, string][] = [
      ['altered', `/pipeline/${id}/events?token=${flipped}`, 'unauthorized'],
      ['forged', `/pipeline/${id}/events?token=${tenantId}.9999999999.${'A'.repeat(43)}`, 'unauthorized'],
      ['another job', `/pipeline/${other}/events?token=${token}`, 'unauthorized'],
      ['expired', `/pipeline/${id}/events?token=${expired}`, 'url_expired'],
      ['none', `/pipeline/${id}/events`, 'unauthorized'],
    ];
    for (const [what, path, code] of cases) {
      const res = await fetch(`${stack.url}${path}`);
      // A stream that opened by mistake never ends: read the body only of a refusal.
      if (res.status !== 401) await res.body?.cancel();
      const body = res.status === 401 ? ((await res.json()) as any) : {};
      expect({ what, status: res.status, code: body.code }).toEqual({ what, status: 401, code });
    }
  });

  it("hides another tenant's job behind the same 404 as a missing one", async () => {
    const id = await heldJob();
    const other = await newTenantKey(env.db);
    const theirs = await fetch(`${stack.url}/pipeline/${id}/events`, { headers: auth(other.key) });
    const missing = await fetch(`${stack.url}/pipeline/${randomUUID()}/events`, { headers: auth() });
    expect(theirs.status).toBe(404);
    expect(missing.status).toBe(404);
    expect(((await theirs.json()) as any).code).toBe(((await missing.json()) as any).code);
    // Their own events URL does not open ours either.
    const ownUrl = eventsToken(id, other.tenantId, Math.floor(Date.now() / 1000) + 60);
    expect((await fetch(`${stack.url}/pipeline/${id}/events?token=${ownUrl}`)).status).toBe(404);
  });
});

describe('keeping the stream alive and ending it', () => {
  it('sends a `: ping` comment while nothing happens', async () => {
    const stream = await openStream(`${stack.url}/pipeline/${await heldJob()}/events`, auth());
    const seen: Message[] = [];
    for (let m = await stream.next(); m && !m.comment; m = await stream.next()) seen.push(m);
    expect(eventsOf(seen).map((e) => e.event)).toEqual(['status', 'progress']);
    stream.close();
  });

  it('ends by itself after AIPROD_SSE_MAX_SECONDS with a retry hint', async () => {
    process.env.AIPROD_SSE_MAX_SECONDS = '1';
    resetConfig();
    try {
      const stream = await openStream(`${stack.url}/pipeline/${await heldJob()}/events`, auth());
      const messages = await stream.rest();
      expect(messages.at(-1)).toEqual({ retry: expect.any(Number) });
      expect(eventsOf(messages).map((e) => e.event)).toEqual(['status', 'progress']);
    } finally {
      delete process.env.AIPROD_SSE_MAX_SECONDS;
      resetConfig();
    }
  });

  it('stops reading the job once the client has gone', async () => {
    const id = await heldJob();
    const reads: string[] = [];
    const onQuery = (q: { sql: string; bindings?: unknown[] }) => {
      if (/from "jobs"/.test(q.sql) && q.bindings?.includes(id)) reads.push(q.sql);
    };
    env.db.on('query', onQuery);
    try {
      const stream = await openStream(`${stack.url}/pipeline/${id}/events`, auth());
      await stream.nextEvent();
      await stream.nextEvent();
      while (reads.length < 3) await stream.next(); // polling
      stream.close();
      await new Promise((r) => setTimeout(r, 200));
      const after = reads.length;
      await new Promise((r) => setTimeout(r, 200));
      expect(reads.length).toBe(after);
    } finally {
      env.db.off('query', onQuery);
    }
  });
});
