/**
 * What the restore drill puts in the database before it is lost, as the system itself writes it:
 * tenants with keys, uploads, jobs through the API that complete, fail and are cancelled, a batch,
 * a webhook with its deliveries, a problem report, usage; then jobs left waiting (PENDING), and
 * months of history written in bulk from the real rows' shape.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Knex } from 'knex';
import { createApiKey, type Tier } from '../../shared/auth/api-keys';
import { makeSampleClip } from '../sample-clip';
import { Partner } from './api';

/** How long the seeded jobs may take, on a slow machine, before the drill gives up. */
const JOBS_TIMEOUT_MS = 5 * 60_000;

export interface WaitingJob {
  partner: Partner;
  id: string;
}

export interface Tenants {
  pro: Partner;
  free: Partner;
  enterprise: Partner;
}

/** A small clip: the drill measures the database, not the media engine. */
export const makeSample = (path: string): Buffer =>
  makeSampleClip(path, { seconds: 6, size: '320x240', rate: 25, toneHz: 330, preset: 'ultrafast' });

/** A partner's webhook receiver: accepts every delivery. */
export async function startReceiver(): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    req.resume();
    req.once('end', () => res.writeHead(204).end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/aiprod`,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

export async function createTenants(k: Knex, base: string): Promise<Tenants> {
  const partner = async (name: string, tier: Tier) =>
    new Partner(base, (await createApiKey(k, { name, tier }, 'restore drill')).key);
  return {
    pro: await partner('drill-pro', 'pro'),
    free: await partner('drill-free', 'free'),
    enterprise: await partner('drill-enterprise', 'enterprise'),
  };
}

const dub = (videoUrl: string, order: string) => ({
  video_url: videoUrl,
  voice_text: 'Still here after the restore.',
  music_style: 'calm',
  metadata: { order },
});
const extract = (videoUrl: string, order: string, format = 'm4a') => ({
  recipe: 'extract_audio',
  video_url: videoUrl,
  format,
  metadata: { order },
});

/**
 * Jobs of every ending, through a stack whose workers run: returns once all have ended. The free
 * tenant's second job waits behind its first (one slot) and is cancelled there.
 */
export async function seedActivity(t: Tenants, sample: Buffer, receiverUrl: string): Promise<void> {
  await t.pro.expect(201, 'POST', '/webhooks', {
    url: receiverUrl,
    events: ['job.completed', 'job.failed', 'batch.completed'],
  });
  const proClip = await t.pro.upload('clip.mp4', 'video/mp4', sample);
  const jobs = [
    await t.pro.submit(dub(proClip, 'pro-dub'), 'drill-pro-dub'),
    await t.pro.submit(extract(proClip, 'pro-audio')),
    // Handed out, never uploaded: the job fails at once (input_http_error).
    await t.pro.submit(dub(await t.pro.upload('lost.mp4', 'video/mp4'), 'pro-lost')),
  ];
  const batch = await t.pro.expect<{ batch_id: string }>(202, 'POST', '/pipeline/batch', {
    items: [extract(proClip, 'batch-0', 'mp3'), extract(proClip, 'batch-1', 'wav')],
    priority: 'high',
  });
  const freeClip = await t.free.upload('clip.mp4', 'video/mp4', sample);
  const freeJobs = [await t.free.submit(extract(freeClip, 'free-1')), await t.free.submit(extract(freeClip, 'free-2'))];
  await t.free.expect(200, 'POST', `/pipeline/${freeJobs[1]}/cancel`);
  const enterpriseClip = await t.enterprise.upload('clip.mp4', 'video/mp4', sample);
  const enterpriseJob = await t.enterprise.submit(dub(enterpriseClip, 'enterprise-dub'));

  await t.pro.awaitEnd(jobs, JOBS_TIMEOUT_MS);
  const items = await t.pro.expect<{ data: { job_id: string }[] }>(200, 'GET', `/jobs?batch_id=${batch.batch_id}`);
  await t.pro.awaitEnd(
    items.data.map((j) => j.job_id),
    JOBS_TIMEOUT_MS,
  );
  await t.free.awaitEnd(freeJobs, JOBS_TIMEOUT_MS);
  await t.enterprise.awaitEnd([enterpriseJob], JOBS_TIMEOUT_MS);
  await t.pro.expect(201, 'POST', '/support/bugs', {
    title: 'A job failed on an upload',
    description: 'The job on lost.mp4 failed; the upload had not finished.',
    job_id: jobs[2],
  });
}

/** Jobs submitted to a stack without workers, as the submit function takes them: they wait, PENDING. */
export async function submitWaiting(t: Tenants, sample: Buffer, count: number): Promise<WaitingJob[]> {
  const clips = new Map<Partner, string>();
  const waiting: WaitingJob[] = [];
  for (let i = 0; i < count; i++) {
    const partner = i % 2 === 0 ? t.pro : t.enterprise;
    if (!clips.has(partner)) clips.set(partner, await partner.upload('waiting.mp4', 'video/mp4', sample));
    const clip = clips.get(partner)!;
    const request = i % 4 === 0 ? dub(clip, `waiting-${i}`) : extract(clip, `waiting-${i}`);
    waiting.push({ partner, id: await partner.submit(request) });
  }
  return waiting;
}
