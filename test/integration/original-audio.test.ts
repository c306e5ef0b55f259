/**
 * A dub's `original_audio` (replace, duck, keep) and `music_style: none`, on real ffmpeg output:
 * the input's own sound is a 12 kHz tone, a frequency neither the voice (flite speaks at 16 kHz,
 * so nothing above 8 kHz) nor the music uses, measured in the output through a narrow band-pass.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { processJob } from '../../shared/jobs/process';
import { parseJobRequest, splitMetadata } from '../../shared/jobs/request';
import {
  dub,
  EFFECTS_PRESETS,
  ffmpegPath,
  inspect,
  localVoiceEngine,
  MediaError,
  type DubRequest,
  type DubResult,
} from '../../shared/media';
import type { OriginalAudioMode } from '../../shared/media/catalog';
import { closeTestEnv, newTenantKey, type TestEnv, useTestEnv } from '../support/database';
import { serveDir, type FileServer } from '../support/file-server';
import { ffprobeJson, makeClip } from '../support/media-fixtures';

const run = promisify(execFile);
const TONE_HZ = 12_000;
const VOICE_TEXT = 'Welcome. This voice sits above the sound.';
const LEAD_IN = 0.5;
const TARGET = EFFECTS_PRESETS.standard;

let dir: string;
let voiceSeconds: number;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'original-audio-'));
  makeClip(join(dir, 'tone.mp4'), { seconds: 8, toneHz: TONE_HZ });
  makeClip(join(dir, 'mute.mp4'), { seconds: 8, toneHz: null });
  // The same tone some 30 dB quieter, as a faint ambience would be.
  await run(ffmpegPath(), [
    ...['-hide_banner', '-loglevel', 'error', '-y', '-i', join(dir, 'tone.mp4')],
    ...['-af', 'volume=-30dB', '-c:v', 'copy', '-c:a', 'aac', join(dir, 'faint.mp4')],
  ]);
  const voice = join(dir, 'voice.wav');
  await localVoiceEngine().synthesize(VOICE_TEXT, 'en', voice);
  voiceSeconds = (await inspect(voice)).durationSeconds;
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function ffmpegStderr(...args: string[]): Promise<string> {
  const { stderr } = await run(ffmpegPath(), ['-hide_banner', '-nostdin', '-nostats', ...args], {
    maxBuffer: 16 << 20,
  });
  return stderr;
}

/** `-ss`/`-to` for a window of the output, or the whole of it. */
const window = (from?: number, to?: number): string[] =>
  from === undefined ? [] : ['-ss', String(from), '-to', String(to)];

/**
 * Mean and highest sample level (dBFS) of the output's sound, in a window when given, through
 * `filter` first when given: -91 is digital silence.
 */
async function levels(path: string, opts: { from?: number; to?: number; filter?: string } = {}) {
  const stderr = await ffmpegStderr(
    ...window(opts.from, opts.to),
    '-i',
    path,
    '-map',
    '0:a:0',
    '-af',
    [opts.filter, 'volumedetect'].filter(Boolean).join(','),
    '-f',
    'null',
    '-',
  );
  const level = (name: string): number => Number(new RegExp(`${name}: (-?[\\d.]+) dB`).exec(stderr)?.[1]);
  return { mean: level('mean_volume'), max: level('max_volume') };
}

/** Mean level (dBFS) within a narrow band around `hz`. */
async function bandLevel(path: string, hz: number, from?: number, to?: number): Promise<number> {
  const band = `bandpass=f=${hz}:t=q:w=20`;
  return (await levels(path, { from, to, filter: `${band},${band}` })).mean;
}

/** Integrated loudness and true peak as a player would measure them (the EBU R128 meter). */
async function loudnessOf(path: string): Promise<{ i: number; tp: number }> {
  const stderr = await ffmpegStderr('-i', path, '-map', '0:a:0', '-af', 'ebur128=peak=true', '-f', 'null', '-');
  const summary = stderr.slice(stderr.lastIndexOf('Summary:'));
  return {
    i: Number(/I:\s+(-?[\d.]+) LUFS/.exec(summary)?.[1]),
    tp: Number(/Peak:\s+(-?[\d.]+) dBFS/.exec(summary)?.[1]),
  };
}

async function request(overrides: Partial<DubRequest> = {}): Promise<DubRequest> {
  return {
    inputPath: join(dir, 'tone.mp4'),
    workDir: await mkdtemp(join(dir, 'work-')),
    outputPath: join(dir, `out-${randomUUID()}.mp4`),
    tracks: [{ language: 'en', voiceText: VOICE_TEXT }],
    musicStyle: 'orchestral',
    effectsPreset: 'standard',
    seed: 'job-original',
    maxInputSeconds: 3600,
    leadInSeconds: LEAD_IN,
    ...overrides,
  };
}

describe('original_audio', () => {
  const outputs = new Map<OriginalAudioMode, { path: string; result: DubResult }>();

  beforeAll(async () => {
    for (const mode of ['replace', 'duck', 'keep'] as const) {
      const req = await request({ originalAudio: mode });
      outputs.set(mode, { path: req.outputPath, result: await dub(req) });
      expect(await readdir(req.workDir)).toEqual([]);
    }
  });

  const output = (mode: OriginalAudioMode) => {
    const out = outputs.get(mode);
    if (!out) throw new Error(`no ${mode} output`);
    return out;
  };

  test.each(['replace', 'duck', 'keep'] as const)(
    '%s: one AAC stereo track, normalized to the preset target',
    async (mode) => {
      const { path, result } = output(mode);
      const audio = ffprobeJson(path).streams.filter((s) => s.codec_type === 'audio');
      expect(audio).toHaveLength(1);
      expect(audio[0]).toMatchObject({ codec_name: 'aac', sample_rate: '48000', channels: 2 });
      expect(result.videoCopied).toBe(true);
      const { i, tp } = await loudnessOf(path);
      expect(Math.abs(i - TARGET.targetLufs)).toBeLessThanOrEqual(0.5);
      expect(tp).toBeLessThanOrEqual(TARGET.truePeakDbtp);
    },
  );

  test("the input's own sound is gone with replace, and there with duck and keep", async () => {
    const [replaced, ducked, kept] = await Promise.all(
      (['replace', 'duck', 'keep'] as const).map((mode) => bandLevel(output(mode).path, TONE_HZ)),
    );
    expect(replaced).toBeLessThan(-80);
    expect(ducked).toBeGreaterThan(-40);
    expect(kept).toBeGreaterThan(-40);
  });

  test('duck takes the original sound down under the voice; keep leaves it as it is', async () => {
    // Well inside the speech, then well after it (the sidechain's release is 400 ms).
    const speech = [LEAD_IN + 0.5, LEAD_IN + voiceSeconds - 0.3] as const;
    const after = [LEAD_IN + voiceSeconds + 1, 7.5] as const;
    const [duckedUnder, keptUnder, duckedAfter, keptAfter] = await Promise.all([
      bandLevel(output('duck').path, TONE_HZ, ...speech),
      bandLevel(output('keep').path, TONE_HZ, ...speech),
      bandLevel(output('duck').path, TONE_HZ, ...after),
      bandLevel(output('keep').path, TONE_HZ, ...after),
    ]);
    expect(keptUnder - duckedUnder).toBeGreaterThan(6);
    // Kept, the tone holds one level throughout; ducked, it comes back once the voice stops.
    expect(Math.abs(keptUnder - keptAfter)).toBeLessThan(1.5);
    expect(duckedAfter - duckedUnder).toBeGreaterThan(6);
  });

  test('a faint original sound is kept faint, not lifted to the music bed level', async () => {
    const req = await request({ inputPath: join(dir, 'faint.mp4'), originalAudio: 'keep' });
    await dub(req);
    const [faint, loud] = await Promise.all([
      bandLevel(req.outputPath, TONE_HZ),
      bandLevel(output('keep').path, TONE_HZ),
    ]);
    expect(faint).toBeGreaterThan(-80);
    expect(loud - faint).toBeGreaterThan(20);
  });

  test.each(['duck', 'keep'] as const)(
    '%s of a video without an audio track fails with no_audio, leaving nothing behind',
    async (mode) => {
      const req = await request({ inputPath: join(dir, 'mute.mp4'), originalAudio: mode });
      const err = await dub(req).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(MediaError);
      expect(err).toMatchObject({ code: 'no_audio', message: expect.stringMatching(/no audio track/) });
      expect(await readdir(req.workDir)).toEqual([]);
      await expect(stat(req.outputPath)).rejects.toThrow();
    },
  );

  test('replace dubs a video without an audio track, as before', async () => {
    const req = await request({ inputPath: join(dir, 'mute.mp4') });
    await dub(req);
    expect(Math.abs((await loudnessOf(req.outputPath)).i - TARGET.targetLufs)).toBeLessThanOrEqual(0.5);
  });
});

describe('music_style none', () => {
  test.each(['replace', 'duck', 'keep'] as const)(
    'with %s: no music, the mix still at the preset target',
    async (mode) => {
      const req = await request({ musicStyle: 'none', originalAudio: mode });
      await dub(req);
      const { i, tp } = await loudnessOf(req.outputPath);
      expect(Math.abs(i - TARGET.targetLufs)).toBeLessThanOrEqual(0.5);
      expect(tp).toBeLessThanOrEqual(TARGET.truePeakDbtp);
      const tone = await bandLevel(req.outputPath, TONE_HZ);
      if (mode === 'replace') {
        // The voice alone: digital silence before it starts and after it ends.
        expect((await levels(req.outputPath, { from: 0, to: LEAD_IN - 0.05 })).max).toBeLessThan(-80);
        expect((await levels(req.outputPath, { from: LEAD_IN + voiceSeconds + 0.5, to: 7.9 })).max).toBeLessThan(-80);
        expect(tone).toBeLessThan(-80);
      } else {
        // Outside the voice, the original tone and nothing else: the band holds all the sound.
        const from = LEAD_IN + voiceSeconds + 1;
        const [band, whole] = await Promise.all([
          bandLevel(req.outputPath, TONE_HZ, from, 7.5),
          levels(req.outputPath, { from, to: 7.5 }),
        ]);
        expect(tone).toBeGreaterThan(-40);
        expect(whole.mean - band).toBeLessThan(1);
      }
    },
  );
});

describe('original_audio through a job', () => {
  let env: TestEnv;
  let files: FileServer;
  let tenantId: string;

  beforeAll(async () => {
    env = await useTestEnv();
    files = await serveDir(dir);
    tenantId = (await newTenantKey(env.db)).tenantId;
  });

  afterAll(async () => {
    await files?.close();
    await closeTestEnv();
  });

  async function submitted(body: Record<string, unknown>): Promise<string> {
    const parsed = parseJobRequest(body);
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
    const id = randomUUID();
    const { request: stored } = splitMetadata(parsed.request);
    await env.db('jobs').insert({ id, tenant_id: tenantId, status: 'PENDING', recipe: 'dub', request: stored });
    return id;
  }

  const job = (id: string) => env.db('jobs').where({ id }).first();

  test('a duck of a video without sound fails the job with no_audio; of one with sound, completes', async () => {
    const body = { voice_text: VOICE_TEXT, original_audio: 'duck', music_style: 'none' };
    const mute = await submitted({ ...body, video_url: `${files.url}/mute.mp4` });
    const toned = await submitted({ ...body, video_url: `${files.url}/tone.mp4` });
    await processJob(env.db, mute);
    await processJob(env.db, toned);
    expect(await job(mute)).toMatchObject({
      status: 'FAILED',
      error_code: 'no_audio',
      error_message: expect.stringMatching(/original_audio "duck".*no audio track/),
    });
    const done = await job(toned);
    expect(done).toMatchObject({ status: 'COMPLETED', result: { loudness: { target_lufs: TARGET.targetLufs } } });
    expect(Math.abs(done.result.loudness.integrated_lufs - TARGET.targetLufs)).toBeLessThanOrEqual(0.5);
  });
});
