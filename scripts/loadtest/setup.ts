/**
 * Before and after the measured load: the small video every job dubs, made with ffmpeg; each
 * tenant's upload of it, as a partner makes one (POST /uploads, then the signed PUT); a first job
 * per tenant, waited for, so that from the first second every tenant has a job to poll and a
 * result to read; and at the end, the wait for the jobs still running.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import * as z from 'zod';
import { makeSampleClip } from '../sample-clip';
import type { HttpClient } from './client';
import type { Tenant, TrackedJob, Workload } from './workload';

/** Short and small, so a job costs a worker a second or two: the load is the API's, not ffmpeg's. */
const FIXTURE_SECONDS = 6;

/** A 6 s 320x240 H.264 clip with an AAC tone, the input of every job. */
export const makeFixture = (path: string): Buffer =>
  makeSampleClip(path, { seconds: FIXTURE_SECONDS, size: '320x240', rate: 25, toneHz: 220, preset: 'ultrafast' });

const grant = z.object({ upload_url: z.string(), headers: z.record(z.string(), z.string()), storage_uri: z.string() });

/** Uploads `video` as `tenant` (its key and address); answers the storage_uri its jobs name. */
export async function uploadFixture(
  client: HttpClient,
  tenant: Pick<Tenant, 'key' | 'address'>,
  video: Buffer,
): Promise<string> {
  const headers = { authorization: `Bearer ${tenant.key}`, 'x-forwarded-for': tenant.address };
  const requested = await client.send({
    method: 'POST',
    path: '/uploads',
    headers: { ...headers, 'content-type': 'application/json' },
    body: JSON.stringify({ filename: 'fixture.mp4', content_type: 'video/mp4', size_bytes: video.length }),
  });
  const parsed = grant.safeParse(JSON.parse(requested.body));
  if (requested.status !== 201 || !parsed.success) {
    throw new Error(`POST /uploads answered ${requested.status}: ${requested.body.slice(0, 300)}`);
  }
  const put = await client.send({
    method: 'PUT',
    path: parsed.data.upload_url,
    headers: parsed.data.headers,
    body: video,
  });
  if (put.status < 200 || put.status >= 300) throw new Error(`the upload PUT answered ${put.status}: ${put.body}`);
  return parsed.data.storage_uri;
}

/** Submits one job per tenant and waits until each has completed; fails on the first that does not. */
export async function seedJobs(
  client: HttpClient,
  workload: Workload,
  timeoutSeconds: number,
  signal: AbortSignal,
): Promise<void> {
  for (let i = 0; i < workload.tenants.length; i++) {
    const planned = workload.plan('submit')!;
    const answer = await client.send(planned.call);
    if (answer.status !== 202) throw new Error(`POST /pipeline/run answered ${answer.status}: ${answer.body}`);
    planned.onAnswer?.(answer);
  }
  const left = await awaitJobs(client, workload, timeoutSeconds, signal);
  const failed = workload.all().find((job) => job.status !== 'COMPLETED');
  if (left.length > 0 || failed) {
    const why = failed?.error ? `${failed.error.code}: ${failed.error.message}` : (failed?.status ?? 'unknown');
    throw new Error(`the first jobs did not all complete within ${timeoutSeconds} s (${failed?.id}: ${why})`);
  }
}

/** How often a job still running is polled while the test waits for it (not part of the figures). */
const POLL_MS = 1000;

/**
 * Polls every unfinished job until each has ended or `timeoutSeconds` have passed; answers the
 * jobs still unfinished then.
 */
export async function awaitJobs(
  client: HttpClient,
  workload: Workload,
  timeoutSeconds: number,
  signal: AbortSignal,
): Promise<TrackedJob[]> {
  const deadline = Date.now() + timeoutSeconds * 1000;
  for (;;) {
    signal.throwIfAborted();
    const left = workload.unfinished();
    if (left.length === 0 || Date.now() >= deadline) return left;
    for (const job of left) {
      const planned = workload.status(job);
      planned.onAnswer?.(await client.send(planned.call));
    }
    await sleep(POLL_MS);
  }
}
