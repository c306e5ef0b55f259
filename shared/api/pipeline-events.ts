/**
 * GET /pipeline/{id}/events: the job's progress as Server-Sent Events (shared/jobs/events.ts)
 * until it ends. The job is read every AIPROD_SSE_POLL_MS with one short query, so no pooled
 * connection is held between reads; a `: ping` comment goes out every AIPROD_SSE_HEARTBEAT_MS; the
 * stream stops when the client goes, and ends by itself after AIPROD_SSE_MAX_SECONDS (kept a minute
 * under the function's timeout) with a `retry:` hint, the client reconnecting with Last-Event-ID;
 * so it does at once when the instance shuts down, rather than holding the shutdown up.
 * A client already told of the job's end gets 204, which tells an EventSource to stop.
 *
 * Authenticated by a Bearer key, or by the signed `events_url` of GET /pipeline/{id}
 * (`?token=`), which an EventSource can open without headers.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Request, Response } from 'express';
import type { Principal } from '../auth/api-keys';
import { config } from '../config';
import { db } from '../db';
import { NotFoundError } from '../errors';
import { HttpProblem } from '../http/problem';
import { shutdownSignal } from '../lifecycle/shutdown';
import { logger } from '../log';
import { checkEventsToken } from '../jobs/events-url';
import { formatEvent, nextEvents, parseEventId, type Step } from '../jobs/events';
import { findJobStatus } from '../jobs/views';
import { httpFunctions } from '../platform/manifest';

/** How long a client waits before reconnecting once a stream has ended on its own, in milliseconds. */
const RETRY_MS = 1000;
/** Room left between the stream's end and the function's timeout. */
const TIMEOUT_MARGIN_SECONDS = 60;

// The token or key is the credential, never a cookie: any page may read the stream it opened, and
// an EventSource told why it was refused (401, 204) stops instead of reconnecting blindly.
const CORS = { 'Access-Control-Allow-Origin': '*' };

const refused = (code: string, detail: string): HttpProblem =>
  new HttpProblem(401, code, 'Unauthorized', detail, undefined, {
    'WWW-Authenticate': 'Bearer realm="aiprod"',
    ...CORS,
  });

/** The tenant a signed events URL was issued to, for createApp's `api_key_or_signed` auth; null without one. */
export async function signedEventsPrincipal(req: Request): Promise<Principal | null> {
  const token = req.query.token;
  if (token === undefined) return null;
  const check = typeof token === 'string' ? checkEventsToken(String(req.params.id), token) : null;
  if (check?.ok === false && check.code === 'url_expired') {
    throw refused('url_expired', 'This events URL has expired; GET /pipeline/{id} gives a new one.');
  }
  const tenant = check?.ok ? await db()('tenants').where({ id: check.tenantId }).first('id', 'name', 'tier') : null;
  if (!tenant) throw refused('unauthorized', 'The events URL is not valid: use the events_url of GET /pipeline/{id}.');
  // The URL stands for the tenant, not for one of its keys.
  return { tenantId: tenant.id, tenantName: tenant.name, tier: tenant.tier, keyId: 'events-url' };
}

function maxSeconds(): number {
  const timeout = httpFunctions().find((f) => f.name === 'pipeline-events')?.timeoutSeconds ?? 3600;
  return Math.max(1, Math.min(config().AIPROD_SSE_MAX_SECONDS, timeout - TIMEOUT_MARGIN_SECONDS));
}

export async function pipelineEvents(req: Request, res: Response): Promise<void> {
  const tenantId = req.principal!.tenantId;
  const jobId = String(req.params.id);
  const first = await findJobStatus(db(), tenantId, jobId);
  if (!first) throw new NotFoundError('job');
  let step: Step = nextEvents(parseEventId(req.header('last-event-id')), first);
  res.set({ 'Cache-Control': 'no-store', ...CORS });
  if (step.end && step.events.length === 0) {
    res.status(204).end();
    return;
  }

  const c = config();
  const log = logger().child({ requestId: req.id, jobId, tenantId });
  const gone = new AbortController();
  const wakeUp = AbortSignal.any([gone.signal, shutdownSignal()]);
  const write = (chunk: string): void => {
    if (!gone.signal.aborted && !res.writableEnded) res.write(chunk);
  };
  const heartbeat = setInterval(() => write(': ping\n\n'), c.AIPROD_SSE_HEARTBEAT_MS);
  res.on('close', () => {
    clearInterval(heartbeat);
    gone.abort();
  });
  res.status(200);
  res.setHeader('Content-Type', 'text/event-stream');
  res.setHeader('X-Accel-Buffering', 'no');
  res.flushHeaders();

  const deadline = Date.now() + maxSeconds() * 1000;
  try {
    for (const event of step.events) write(formatEvent(event));
    while (!step.end) {
      const wait = Math.min(c.AIPROD_SSE_POLL_MS, deadline - Date.now());
      if (wait <= 0) {
        write(`retry: ${RETRY_MS}\n\n`);
        return;
      }
      try {
        await sleep(wait, undefined, { signal: wakeUp });
      } catch {
        // The client went away, or the instance is stopping: the client resumes on another.
        write(`retry: ${RETRY_MS}\n\n`);
        return;
      }
      let job;
      try {
        job = await findJobStatus(db(), tenantId, jobId);
      } catch (err) {
        // The client reconnects after the hint and resumes where it was.
        log.warn('events stream read failed', { error: err });
        write(`retry: ${RETRY_MS * 5}\n\n`);
        return;
      }
      if (!job) return;
      step = nextEvents(step.cursor, job);
      for (const event of step.events) write(formatEvent(event));
    }
  } finally {
    clearInterval(heartbeat);
    res.end();
  }
}
