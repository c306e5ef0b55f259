/**
 * Whole jobs on a streamed input, against the real database and real ffmpeg: the input, an MP4
 * whose index comes last, is read from its origin a range at a time while the job runs, and the
 * job's work dir never holds it. The work dir is looked at every time the origin sends a chunk,
 * that is, exactly while the input is being read.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { resetConfig } from '../../../shared/config';
import { processJob } from '../../../shared/jobs/process';
import { ffmpegPath } from '../../../shared/media';
import { localStore } from '../../../shared/platform';
import { closeTestEnv, newTenantKey, TestEnv, useTestEnv } from '../../support/database';
import { ffprobeJson, videoPacketsMd5 } from '../../support/media-fixtures';
import { serveRanges, type RangeOrigin } from '../../support/range-origin';

let env: TestEnv;
let scratch: string;
let input: string;
let inputSize: number;
let origin: RangeOrigin;
let tenantId: string;

/** Every file under the scratch dir and its size, as the origin sends a chunk. */
const seen: { file: string; size: number }[][] = [];

function files(dir: string): { file: string; size: number }[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).flatMap((name) => {
    try {
      const info = statSync(join(dir, name));
      return info.isFile() ? [{ file: name, size: info.size }] : [];
    } catch {
      return []; // removed meanwhile
    }
  });
}

/** A few seconds of noise, so the picture weighs tens of MB; written without +faststart, the index last. */
function makeHeavyClip(path: string): string {
  execFileSync(ffmpegPath(), [
    ...['-hide_banner', '-loglevel', 'error', '-y'],
    ...['-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=25:duration=6,noise=alls=60:allf=t'],
    ...['-f', 'lavfi', '-i', 'sine=frequency=220:sample_rate=48000:duration=6'],
    ...['-c:v', 'libx264', '-preset', 'ultrafast', '-qp', '18', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest'],
    path,
  ]);
  return path;
}

async function runJob(recipe: string, request: Record<string, unknown>) {
  const id = randomUUID();
  const video_url = `${origin.url}/heavy.mp4?sig=s3cr3t`;
  await env.db('jobs').insert({
    id,
    tenant_id: tenantId,
    status: 'PENDING',
    recipe,
    request: { recipe, video_url, effects_preset: 'standard', ...request },
  });
  seen.length = 0;
  origin.hits.length = 0;
  await processJob(env.db, id);
  return env.db('jobs').where({ id }).first();
}

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'aiprod-streamed-scratch-'));
  env = await useTestEnv({ AIPROD_SCRATCH_DIR: scratch });
  const dir = mkdtempSync(join(tmpdir(), 'aiprod-streamed-in-'));
  input = makeHeavyClip(join(dir, 'heavy.mp4'));
  inputSize = statSync(input).size;
  origin = await serveRanges({ '/heavy.mp4': input }, { onChunk: () => seen.push(files(scratch)) });
  tenantId = (await newTenantKey(env.db)).tenantId;
});

afterAll(async () => {
  await origin.close();
  await closeTestEnv();
  delete process.env.AIPROD_SCRATCH_DIR;
  resetConfig();
});

it('dubs a streamed input, the picture copied, without ever storing the input in the work dir', async () => {
  expect(inputSize).toBeGreaterThan(20 * 1024 ** 2);
  const job = await runJob('dub', {
    voice_text: 'A few words over a heavy picture.',
    voice_language: 'en',
    music_style: 'calm',
  });
  expect(job).toMatchObject({ status: 'COMPLETED', attempts: 1 });
  expect(job.result.video).toMatchObject({ codec: 'h264', copied: true });
  const output = localStore().filePath(job.result.bucket, job.result.key);
  expect(videoPacketsMd5(output)).toBe(videoPacketsMd5(input));
  expect(Math.abs(Number(ffprobeJson(output).format.duration) - 6)).toBeLessThanOrEqual(0.1);

  // Read in ranges, from the origin, while the job ran.
  expect(origin.hits.length).toBeGreaterThan(2);
  expect(origin.hits.every((h) => h.status === 206 && /^bytes=\d+-\d+$/.test(h.range ?? ''))).toBe(true);
  expect(seen.length).toBeGreaterThan(10);
  expect(seen.some((at) => at.some((f) => f.file.startsWith('aiprod-job-')))).toBe(true);
  // The one large file the work dir may hold is the output being written.
  const others = seen.flat().filter((f) => !/output\.mp4$/.test(f.file));
  expect(Math.max(0, ...others.map((f) => f.size))).toBeLessThan(inputSize / 4);
});

it('extracts the sound of a streamed input while the work dir stays far below its size', async () => {
  const job = await runJob('extract_audio', { format: 'mp3' });
  expect(job).toMatchObject({ status: 'COMPLETED' });
  expect(job.result.audio).toMatchObject({ codec: 'mp3' });
  expect(seen.length).toBeGreaterThan(10);
  const totals = seen.map((at) => at.reduce((sum, f) => sum + f.size, 0));
  expect(Math.max(...totals)).toBeLessThan(inputSize / 4);
  // Nothing of the job is left behind.
  expect(readdirSync(scratch)).toEqual([]);
});
