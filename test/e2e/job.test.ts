/**
 * A job from POST to a finished video on the local stack: real PostgreSQL, real HTTP between the
 * functions (push bus -> job-processor), real ffmpeg, output checked with ffprobe.
 */
import { writeFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Stack } from '../../shared/local/stack';
import { measureLoudness } from '../../shared/media';
import { closeTestEnv, newTenantKey, TestEnv, useTestEnv } from '../support/database';
import { startTestStack } from '../support/stack';
import { FileServer, serveDir } from '../support/file-server';
import { ffprobeJson, makeAudioOnly, makeClip, makeImage, videoPacketsMd5 } from '../support/media-fixtures';

let env: TestEnv;
let stack: Stack;
let files: FileServer;
let key: string;
let inputDir: string;

const headers = () => ({ authorization: `Bearer ${key}`, 'content-type': 'application/json' });

async function submit(videoPath: string, voiceText = 'Here is the news of the day, read aloud for you.') {
  const res = await fetch(`${stack.url}/pipeline/run`, {
    method: 'POST',
    headers: headers(),
    body: JSON.stringify({ video_url: `${files.url}/${videoPath}`, voice_text: voiceText }),
  });
  expect(res.status).toBe(202);
  return ((await res.json()) as { job_id: string }).job_id;
}

async function waitForEnd(jobId: string, timeoutMs = 90_000): Promise<Record<string, any>> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const status = (await (await fetch(`${stack.url}/pipeline/${jobId}`, { headers: headers() })).json()) as Record<
      string,
      any
    >;
    if (status.status === 'COMPLETED' || status.status === 'FAILED') return status;
    if (Date.now() > until) throw new Error(`job ${jobId} still ${status.status}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

beforeAll(async () => {
  env = await useTestEnv();
  stack = await startTestStack(env);
  inputDir = mkdtempSync(join(tmpdir(), 'aiprod-e2e-in-'));
  makeClip(join(inputDir, 'clip.mp4'), { seconds: 6 });
  writeFileSync(join(inputDir, 'notes.mp4'), 'this is a text file, not a video\n'.repeat(50));
  makeAudioOnly(join(inputDir, 'sound.mp4'));
  makeImage(join(inputDir, 'cover.png'));
  files = await serveDir(inputDir);
  key = (await newTenantKey(env.db)).key;
});

afterAll(async () => {
  await stack.stop();
  await files.close();
  await closeTestEnv();
});

it('turns a video and a script into a dubbed, loudness-normalized video with the picture copied', async () => {
  const jobId = await submit('clip.mp4');
  const status = await waitForEnd(jobId);
  expect(status).toMatchObject({ status: 'COMPLETED', progress: 100, stage: 'done', metadata: {} });
  expect(status.started_at).toBeTruthy();
  expect(status.completed_at).toBeTruthy();

  const resultRes = await fetch(`${stack.url}/pipeline/${jobId}/result`, { headers: headers() });
  expect(resultRes.status).toBe(200);
  const result = (await resultRes.json()) as Record<string, any>;
  expect(result).toMatchObject({
    content_type: 'video/mp4',
    video: { codec: 'h264', copied: true, width: 320, height: 240 },
    audio: { codec: 'aac', sample_rate: 48000, channels: 2 },
  });

  // The signed URL serves the file; a tampered one does not.
  const download = await fetch(result.url);
  expect(download.status).toBe(200);
  const output = join(inputDir, `${jobId}.mp4`);
  writeFileSync(output, Buffer.from(await download.arrayBuffer()));
  expect((await fetch(result.url.replace(/signature=[0-9a-f]{4}/, 'signature=0000'))).status).toBe(403);

  const probe = ffprobeJson(output);
  const video = probe.streams.find((s) => s.codec_type === 'video')!;
  const audio = probe.streams.find((s) => s.codec_type === 'audio')!;
  expect(video.codec_name).toBe('h264');
  expect(audio).toMatchObject({ codec_name: 'aac', sample_rate: '48000', channels: 2 });
  expect(Math.abs(Number(probe.format.duration) - 6)).toBeLessThanOrEqual(0.1);
  expect(videoPacketsMd5(output)).toBe(videoPacketsMd5(join(inputDir, 'clip.mp4')));
  const loudness = await measureLoudness(output);
  expect(Math.abs(loudness.integratedLufs - -14)).toBeLessThanOrEqual(1);
  expect(loudness.truePeakDbtp).toBeLessThanOrEqual(-1);
  expect(Number(result.size_bytes)).toBeGreaterThan(0);
});

it.each([
  ['an unreachable URL', () => 'http://127.0.0.1:9/clip.mp4', 'input_unreachable', 'fetching'],
  ['a file that is not media at all', () => `${files.url}/notes.mp4`, 'corrupt_media', 'fetching'],
  ['a file with sound but no picture', () => `${files.url}/sound.mp4`, 'not_a_video', 'fetching'],
  ['a missing file', () => `${files.url}/missing.mp4`, 'input_http_error', 'fetching'],
])('ends FAILED with a stable code for %s, in the stage it failed in', async (_what, url, code, stage) => {
  const res = await fetch(`${stack.url}/pipeline/run`, {
    method: 'POST',
    headers: headers(),
    body: JSON.stringify({ video_url: url(), voice_text: 'A few words for a video that will never be.' }),
  });
  const { job_id } = (await res.json()) as { job_id: string };
  const status = await waitForEnd(job_id);
  expect(status).toMatchObject({ status: 'FAILED', stage, error: { code } });
  expect(status.error.message).toEqual(expect.any(String));
  const result = await fetch(`${stack.url}/pipeline/${job_id}/result`, { headers: headers() });
  expect(result.status).toBe(422);
  expect(((await result.json()) as { code: string }).code).toBe(code);
});

it('localizes in one job: a track per language, timed script lines, captions as streams and signed sidecars', async () => {
  const res = await fetch(`${stack.url}/pipeline/run`, {
    method: 'POST',
    headers: headers(),
    body: JSON.stringify({
      video_url: `${files.url}/clip.mp4`,
      voice_tracks: [
        { language: 'en', text: 'Welcome to the harbour.' },
        {
          language: 'fr',
          script: [
            { start_seconds: 1, text: 'Bonjour.' },
            { start_seconds: 3.5, text: 'Au revoir.' },
          ],
        },
      ],
      captions: true,
    }),
  });
  expect(res.status).toBe(202);
  const { job_id: jobId } = (await res.json()) as { job_id: string };
  expect(await waitForEnd(jobId)).toMatchObject({ status: 'COMPLETED' });
  const result = (await (
    await fetch(`${stack.url}/pipeline/${jobId}/result`, { headers: headers() })
  ).json()) as Record<string, any>;
  expect(result.video).toMatchObject({ copied: true });
  expect(result.tracks).toEqual([
    expect.objectContaining({ language: 'en', audio: { codec: 'aac', sample_rate: 48000, channels: 2 } }),
    expect.objectContaining({ language: 'fr' }),
  ]);
  for (const track of result.tracks) {
    expect(Math.abs(track.loudness.integrated_lufs - -14)).toBeLessThanOrEqual(0.5);
    expect(track.captions.burned).toBe(false);
  }
  expect(result.loudness).toEqual(result.tracks[0].loudness);

  const output = join(inputDir, `${jobId}.mp4`);
  writeFileSync(output, Buffer.from(await (await fetch(result.url)).arrayBuffer()));
  const streams = ffprobeJson(output).streams as unknown as {
    codec_type: string;
    codec_name: string;
    tags?: { language?: string };
  }[];
  expect(streams.filter((s) => s.codec_type !== 'video').map((s) => [s.codec_name, s.tags?.language])).toEqual([
    ['aac', 'eng'],
    ['aac', 'fra'],
    ['mov_text', 'eng'],
    ['mov_text', 'fra'],
  ]);

  // The French sidecars hold the script's two lines, each shown from where it is spoken.
  const vtt = await (await fetch(result.tracks[1].captions.webvtt_url)).text();
  const srt = await (await fetch(result.tracks[1].captions.srt_url)).text();
  expect(vtt).toMatch(/^WEBVTT\n\n00:00:01\.0\d\d --> .*\nBonjour\.\n\n00:00:03\.5\d\d --> .*\nAu revoir\.\n/);
  expect(srt).toMatch(/^1\n00:00:01,0\d\d --> .*\nBonjour\.\n\n2\n00:00:03,5\d\d --> .*\nAu revoir\.\n/);
});

it('fails with voice_too_long when the script outlasts the video', async () => {
  const jobId = await submit('clip.mp4', 'This script is far too long for a six second clip. '.repeat(8));
  expect(await waitForEnd(jobId)).toMatchObject({
    status: 'FAILED',
    stage: 'voice',
    error: { code: 'voice_too_long' },
  });
});

it('extract_audio: the input sound as MP3, normalized to the preset', async () => {
  const res = await fetch(`${stack.url}/pipeline/run`, {
    method: 'POST',
    headers: headers(),
    body: JSON.stringify({
      recipe: 'extract_audio',
      video_url: `${files.url}/clip.mp4`,
      format: 'mp3',
      effects_preset: 'podcast',
    }),
  });
  const { job_id } = (await res.json()) as { job_id: string };
  expect(await waitForEnd(job_id)).toMatchObject({ status: 'COMPLETED' });
  const result = (await (
    await fetch(`${stack.url}/pipeline/${job_id}/result`, { headers: headers() })
  ).json()) as Record<string, any>;
  expect(result).toMatchObject({
    content_type: 'audio/mpeg',
    video: null,
    audio: { codec: 'mp3', sample_rate: 48000 },
    loudness: { target_lufs: -16 },
  });
  expect(Math.abs(result.loudness.integrated_lufs - -16)).toBeLessThanOrEqual(0.5);
  const output = join(inputDir, `${job_id}.mp3`);
  writeFileSync(output, Buffer.from(await (await fetch(result.url)).arrayBuffer()));
  expect(ffprobeJson(output).streams.map((s) => s.codec_name)).toEqual(['mp3']);
});

it('still: an image and a voice to an H.264 video of the asked duration', async () => {
  const res = await fetch(`${stack.url}/pipeline/run`, {
    method: 'POST',
    headers: headers(),
    body: JSON.stringify({
      recipe: 'still',
      image_url: `${files.url}/cover.png`,
      duration_seconds: 8,
      resolution: '720p',
      voice_text: 'Now playing on our channel.',
    }),
  });
  const { job_id } = (await res.json()) as { job_id: string };
  expect(await waitForEnd(job_id)).toMatchObject({ status: 'COMPLETED' });
  const result = (await (
    await fetch(`${stack.url}/pipeline/${job_id}/result`, { headers: headers() })
  ).json()) as Record<string, any>;
  expect(result).toMatchObject({
    content_type: 'video/mp4',
    video: { codec: 'h264', width: 1280, height: 720 },
    audio: { codec: 'aac' },
  });
  expect(Math.abs(result.duration_seconds - 8)).toBeLessThanOrEqual(0.1);
  expect(Math.abs(result.loudness.integrated_lufs - -14)).toBeLessThanOrEqual(1);
});
