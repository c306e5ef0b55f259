import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  dub,
  EFFECTS_PRESETS,
  ffmpegPath,
  ffprobePath,
  generateMusic,
  inspect,
  localVoiceEngine,
  MediaError,
  MUSIC_STYLES,
  probe,
  type DubRequest,
  type EffectsPresetName,
  type MediaErrorCode,
} from '../../shared/media';
import {
  LOUDNESS_METER,
  limitInGraph,
  linearNormalization,
  measureLoudness,
  parseLoudnessSummary,
} from '../../shared/media/loudness';
import { savedEnv } from '../support/env';
import { ffprobeJson, videoPacketsMd5 } from '../support/media-fixtures';

const run = promisify(execFile);

/** Everything here is made by ffmpeg at test time: no media is committed. */
let dir: string;
const fixture = (name: string): string => join(dir, name);

const ffmpeg = async (...args: string[]): Promise<string> => {
  const { stderr } = await run(ffmpegPath(), ['-hide_banner', '-nostdin', '-y', ...args], { maxBuffer: 64 << 20 });
  return stderr;
};

const VOICE_TEXT = 'Welcome. This voice sits above the music.';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'media-test-'));
  const picture = ['-f', 'lavfi', '-i', 'testsrc2=s=320x240:r=25:d=8'];
  const tone = ['-f', 'lavfi', '-i', 'sine=f=440:d=8:sample_rate=48000'];
  await Promise.all([
    // veryfast keeps B-frames, so the copy check sees reordered packets, as from a real camera.
    ffmpeg(
      ...picture,
      ...tone,
      '-c:v',
      'libx264',
      '-preset',
      'veryfast',
      '-pix_fmt',
      'yuv420p',
      '-c:a',
      'aac',
      '-shortest',
      fixture('clip.mp4'),
    ),
    ffmpeg(
      ...picture,
      ...tone,
      '-c:v',
      'libvpx',
      '-deadline',
      'realtime',
      '-cpu-used',
      '8',
      '-b:v',
      '400k',
      '-c:a',
      'libopus',
      '-shortest',
      fixture('clip.webm'),
    ),
    ffmpeg(...picture, '-c:v', 'mpeg4', fixture('clip-mpeg4.mp4')),
    ffmpeg(...tone, '-c:a', 'aac', fixture('tone.m4a')),
    ffmpeg('-f', 'lavfi', '-i', 'color=c=navy:s=64x64', '-frames:v', '1', fixture('still.png')),
    writeFile(fixture('random.mp4'), randomBytes(64 * 1024)),
  ]);
  // Rotation is set on a stream copy: ffmpeg 5.1 ignores the rotate tag when it encodes.
  await ffmpeg('-i', fixture('clip.mp4'), '-c', 'copy', '-metadata:s:v:0', 'rotate=90', fixture('rotated.mp4'));
  await ffmpeg(
    '-i',
    fixture('clip-mpeg4.mp4'),
    '-c',
    'copy',
    '-metadata:s:v:0',
    'rotate=90',
    fixture('rotated-mpeg4.mp4'),
  );
  await ffmpeg('-i', fixture('clip.mp4'), '-c', 'copy', '-movflags', '+faststart', fixture('faststart.mp4'));
  // Cut in half: without faststart the index (at the end) is gone; with it, half the frames are.
  for (const [from, to] of [
    ['clip.mp4', 'truncated.mp4'],
    ['faststart.mp4', 'truncated-faststart.mp4'],
  ] as const) {
    const bytes = await readFile(fixture(from));
    await writeFile(fixture(to), bytes.subarray(0, bytes.length >> 1));
  }
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** A fresh work dir per dub, so "no leftovers" is checked on that dub alone. */
async function request(overrides: Partial<DubRequest> = {}): Promise<DubRequest> {
  const workDir = await mkdtemp(join(dir, 'work-'));
  return {
    inputPath: fixture('clip.mp4'),
    workDir,
    outputPath: join(dir, `out-${Date.now()}-${Math.random().toString(36).slice(2)}.mp4`),
    tracks: [{ language: 'en', voiceText: VOICE_TEXT }],
    musicStyle: 'orchestral',
    effectsPreset: 'standard',
    seed: 'job-1234',
    maxInputSeconds: 3600,
    ...overrides,
  };
}

async function expectMediaError(promise: Promise<unknown>, code: MediaErrorCode): Promise<MediaError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(MediaError);
  expect((err as MediaError).code).toBe(code);
  return err as MediaError;
}

/**
 * Loudness as a player would measure it, with ffmpeg's EBU R128 meter read here, not through the
 * engine. (Not loudnorm's analysis: it under-reads clips a few seconds long by up to 1 LU, missing
 * the last seconds, which ebur128 and loudnorm's own linear pass both count.)
 */
async function loudnessOf(path: string, from?: number, to?: number): Promise<{ i: number; tp: number }> {
  const trim = from === undefined ? [] : ['-ss', String(from), '-to', String(to)];
  const stderr = await ffmpeg(
    '-nostats',
    ...trim,
    '-i',
    path,
    '-map',
    '0:a:0',
    '-af',
    'ebur128=peak=true:framelog=verbose',
    '-f',
    'null',
    '-',
  );
  const summary = stderr.slice(stderr.lastIndexOf('Summary:'));
  const i = /I:\s+(-?[\d.]+) LUFS/.exec(summary)?.[1];
  const tp = /Peak:\s+(-?[\d.]+|-inf) dBFS/.exec(summary)?.[1];
  return { i: Number(i), tp: tp === '-inf' ? -Infinity : Number(tp) };
}

/** Top-level MP4 boxes in file order. */
async function topLevelBoxes(path: string): Promise<string[]> {
  const bytes = await readFile(path);
  const boxes: string[] = [];
  for (let at = 0; at + 8 <= bytes.length;) {
    let size = bytes.readUInt32BE(at);
    if (size === 1) size = Number(bytes.readBigUInt64BE(at + 8));
    boxes.push(bytes.toString('latin1', at + 4, at + 8));
    if (size < 8) break;
    at += size;
  }
  return boxes;
}

describe('media engine: dub', () => {
  test('keeps the H.264 picture bit for bit and delivers a normalized, voiced AAC mix', async () => {
    const req = await request();
    const percents: number[] = [];
    const voiceProbe = join(req.workDir, 'probe-voice.wav');
    await localVoiceEngine().synthesize(VOICE_TEXT, 'en', voiceProbe);
    const voiceSeconds = (await inspect(voiceProbe)).durationSeconds;
    await rm(voiceProbe);

    const result = await dub({ ...req, onProgress: (p) => percents.push(p) });

    expect(result.videoCopied).toBe(true);
    expect(videoPacketsMd5(req.outputPath)).toBe(videoPacketsMd5(req.inputPath));

    const input = ffprobeJson(req.inputPath);
    const output = ffprobeJson(req.outputPath);
    const inputVideo = input.streams.find((s) => s.codec_type === 'video');
    const video = output.streams.find((s) => s.codec_type === 'video');
    const audio = output.streams.filter((s) => s.codec_type === 'audio');
    expect(output.streams).toHaveLength(2);
    expect(Math.abs(Number(output.format.duration) - Number(inputVideo?.duration))).toBeLessThan(0.1);
    expect(Math.abs(Number(video?.duration) - Number(inputVideo?.duration))).toBeLessThan(0.1);
    expect(Math.abs(Number(audio[0]?.duration) - Number(inputVideo?.duration))).toBeLessThan(0.1);
    expect(audio).toHaveLength(1);
    expect(audio[0]).toMatchObject({ codec_name: 'aac', sample_rate: '48000', channels: 2 });
    expect(video).toMatchObject({ width: 320, height: 240, r_frame_rate: '25/1' });

    const boxes = await topLevelBoxes(req.outputPath);
    expect(boxes.indexOf('moov')).toBeGreaterThanOrEqual(0);
    expect(boxes.indexOf('moov')).toBeLessThan(boxes.indexOf('mdat'));

    const whole = await loudnessOf(req.outputPath);
    expect(Math.abs(whole.i - EFFECTS_PRESETS.standard.targetLufs)).toBeLessThanOrEqual(1);
    expect(Math.abs(whole.i - EFFECTS_PRESETS.standard.targetLufs)).toBeLessThanOrEqual(0.5);
    expect(whole.tp).toBeLessThanOrEqual(-1);
    expect(result.tracks).toHaveLength(1);
    // What is said when: from the lead-in on, within the voice's own length.
    const lines = result.tracks[0]!.lines;
    expect(result.tracks[0]!.language).toBe('en');
    expect(lines.map((l) => l.text).join(' ')).toBe(VOICE_TEXT);
    expect(lines[0]!.startSeconds).toBeGreaterThanOrEqual(0.5);
    expect(lines.at(-1)!.endSeconds).toBeLessThanOrEqual(0.5 + voiceSeconds + 0.05);
    expect(Math.abs(result.tracks[0]!.loudness.integratedLufs - whole.i)).toBeLessThanOrEqual(0.3);

    // Voice from 0.5 s (the lead-in) to 0.5 s + its length; music alone after it, until the fade-out.
    const voiced = await loudnessOf(req.outputPath, 1, 0.5 + voiceSeconds - 0.3);
    const musicOnly = await loudnessOf(req.outputPath, 0.5 + voiceSeconds + 0.8, 5.3);
    expect(voiced.i - musicOnly.i).toBeGreaterThan(2);
    expect(musicOnly.i).toBeGreaterThan(-40);

    expect(percents.length).toBeGreaterThan(1);
    expect(percents).toEqual([...percents].sort((a, b) => a - b));
    expect(new Set(percents).size).toBe(percents.length);
    expect(percents.at(-1)).toBe(100);

    expect(result.output.video).toMatchObject({ codec: 'h264', width: 320, height: 240, fps: 25, rotation: 0 });
    expect(await readdir(req.workDir)).toEqual([]);
  });

  test('re-encodes a VP8 WebM to H.264 in MP4, same size, rate and length', async () => {
    const req = await request({ inputPath: fixture('clip.webm'), musicStyle: 'electronic' });
    const result = await dub(req);

    expect(result.videoCopied).toBe(false);
    const output = ffprobeJson(req.outputPath);
    const video = output.streams.find((s) => s.codec_type === 'video');
    expect(video).toMatchObject({
      codec_name: 'h264',
      pix_fmt: 'yuv420p',
      width: 320,
      height: 240,
      r_frame_rate: '25/1',
    });
    expect(Math.abs(Number(output.format.duration) - 8)).toBeLessThan(0.1);
    expect(Math.abs(Number(video?.duration) - 8)).toBeLessThan(0.1);
    expect(await readdir(req.workDir)).toEqual([]);
  });

  test.each([
    ['copied', 'rotated.mp4', true],
    ['re-encoded', 'rotated-mpeg4.mp4', false],
  ] as const)('keeps the rotation of a %s picture', async (_how, file, copied) => {
    const req = await request({ inputPath: fixture(file), musicStyle: 'calm' });
    expect((await probe(req.inputPath)).video?.rotation).toBe(90);
    const result = await dub(req);
    expect(result.videoCopied).toBe(copied);
    expect(result.output.video).toMatchObject({ codec: 'h264', width: 320, height: 240, rotation: 90 });
  });

  test.each(['podcast', 'cinematic', 'music', 'ambient'] as const)(
    'normalizes the %s preset to its own target',
    async (name: EffectsPresetName) => {
      const req = await request({ effectsPreset: name, musicStyle: MUSIC_STYLES[name.length % MUSIC_STYLES.length] });
      await dub(req);
      const { i, tp } = await loudnessOf(req.outputPath);
      expect(Math.abs(i - EFFECTS_PRESETS[name].targetLufs)).toBeLessThanOrEqual(0.5);
      expect(tp).toBeLessThanOrEqual(EFFECTS_PRESETS[name].truePeakDbtp);
    },
  );

  test.each([
    ['an audio-only file', 'tone.m4a', 'not_a_video'],
    ['a still image', 'still.png', 'not_a_video'],
    ['random bytes', 'random.mp4', 'corrupt_media'],
    ['an MP4 cut before its index', 'truncated.mp4', 'corrupt_media'],
    ['an MP4 cut after its index', 'truncated-faststart.mp4', 'corrupt_media'],
  ] as const)('refuses %s', async (_what, file, code) => {
    const req = await request({ inputPath: fixture(file) });
    await expectMediaError(dub(req), code);
    expect(await readdir(req.workDir)).toEqual([]);
    await expect(stat(req.outputPath)).rejects.toThrow();
  });

  test('refuses a voice-over longer than the video, naming both lengths', async () => {
    const req = await request({ tracks: [{ language: 'en', voiceText: `${VOICE_TEXT} `.repeat(8) }] });
    const err = await expectMediaError(dub(req), 'voice_too_long');
    expect(err.message).toMatch(/lasts (at least )?\d+(\.\d)? s.*8\.0 s video/);
    expect(await readdir(req.workDir)).toEqual([]);
  });

  test('refuses a video over the length limit before any work', async () => {
    const req = await request({ maxInputSeconds: 5 });
    await expectMediaError(dub(req), 'input_too_long');
  });

  test('refuses a script the local voice cannot read rather than dubbing silence', async () => {
    const req = await request({ tracks: [{ language: 'ja', voiceText: 'こんにちは、世界。' }] });
    await expectMediaError(dub(req), 'voice_synthesis_failed');
    expect(await readdir(req.workDir)).toEqual([]);
  });

  test('stops on abort with processing_timeout and leaves nothing behind', async () => {
    const controller = new AbortController();
    const req = await request({ signal: controller.signal, onProgress: (p) => p > 0 && controller.abort() });
    await expectMediaError(dub(req), 'processing_timeout');
    expect(await readdir(req.workDir)).toEqual([]);
    await expect(stat(req.outputPath)).rejects.toThrow();
  });
});

describe('media engine: parts', () => {
  test('generated music is the same for the same seed, different for another', async () => {
    const md5 = async (seed: string, name: string): Promise<string> => {
      const outputPath = fixture(name);
      await generateMusic({ style: 'jazz', seed, durationSeconds: 4, outputPath });
      const { stdout } = await run(ffmpegPath(), ['-v', 'error', '-i', outputPath, '-f', 'md5', '-']);
      return stdout.trim();
    };
    const [first, again, other] = await Promise.all([
      md5('job-a', 'a1.wav'),
      md5('job-a', 'a2.wav'),
      md5('job-b', 'b.wav'),
    ]);
    expect(first).toBe(again);
    expect(other).not.toBe(first);
    const facts = await inspect(fixture('a1.wav'));
    expect(facts.audio).toMatchObject({ sampleRate: 48000, channels: 2 });
    expect(Math.abs(facts.durationSeconds - 4)).toBeLessThan(0.01);
  });

  test('every style makes music at a similar level, without clipping', async () => {
    const levels = await Promise.all(
      MUSIC_STYLES.map(async (style) => {
        const outputPath = fixture(`style-${style}.wav`);
        await generateMusic({ style, seed: 'level', durationSeconds: 6, outputPath });
        return { style, ...(await loudnessOf(outputPath)) };
      }),
    );
    for (const { i, tp } of levels) {
      expect(i).toBeGreaterThan(-23);
      expect(i).toBeLessThan(-17);
      expect(tp).toBeLessThan(-1);
    }
  });

  test('a mix too peaky for one gain is limited until one gain normalizes it under the ceiling', async () => {
    // A quiet bed with full-scale bursts: 30 dB from loudness to peak, where -14/-1.5 allows 12.5.
    const peaky = fixture('peaky.wav');
    await ffmpeg(
      '-f',
      'lavfi',
      '-i',
      'anoisesrc=a=0.03:d=6:seed=7',
      '-f',
      'lavfi',
      '-i',
      "aevalsrc=exprs='0.95*sin(2*PI*1000*t)*lt(mod(t,1),0.01)':s=48000:d=6",
      '-filter_complex',
      '[0][1]amix=inputs=2:normalize=0',
      '-ar',
      '48000',
      '-c:a',
      'pcm_s16le',
      peaky,
    );
    const target = { lufs: -14, truePeakDbtp: -1.5, lra: 11 };
    const measure = (path: string) => async (filters: readonly string[]) =>
      parseLoudnessSummary(await ffmpeg('-i', path, '-af', [...filters, LOUDNESS_METER].join(','), '-f', 'null', '-'));
    const through = measure(peaky);
    const measured = await measureLoudness(peaky);
    expect(measured.truePeakDbtp + target.lufs - measured.integratedLufs).toBeGreaterThan(target.truePeakDbtp);

    const rounds: number[] = [];
    const limited = await limitInGraph(measured, target, (filters) => {
      rounds.push(filters.length);
      return through(filters);
    });
    expect(limited.filters.length).toBeGreaterThan(0);
    expect(rounds).toEqual(limited.filters.map((_, i) => i + 1));
    expect(limited.measured.truePeakDbtp + target.lufs - limited.measured.integratedLufs).toBeLessThanOrEqual(
      target.truePeakDbtp,
    );

    const normalized = await through([...limited.filters, linearNormalization(limited.measured, target)]);
    expect(Math.abs(normalized.integratedLufs - target.lufs)).toBeLessThanOrEqual(0.5);
    expect(normalized.truePeakDbtp).toBeLessThanOrEqual(target.truePeakDbtp + 0.1);
    // Nothing to limit in a sound that one gain already takes to the target: a steady tone.
    const tone = await measure(fixture('tone.m4a'))([]);
    expect(await limitInGraph(tone, target, measure(fixture('tone.m4a')))).toEqual({ filters: [], measured: tone });
  });

  test('probe reports the facts of a video', async () => {
    const facts = await probe(fixture('clip.mp4'));
    expect(facts.container).toContain('mp4');
    expect(facts.durationSeconds).toBeCloseTo(8, 1);
    expect(facts.video).toMatchObject({ codec: 'h264', width: 320, height: 240, fps: 25, rotation: 0 });
    expect(facts.audio).toMatchObject({ codec: 'aac', sampleRate: 48000, channels: 1 });
    expect(facts.sizeBytes).toBe((await stat(fixture('clip.mp4'))).size);
  });

  test('presets are five distinct chains, each with its own target', () => {
    const names = Object.keys(EFFECTS_PRESETS);
    expect(names.sort()).toEqual(['ambient', 'cinematic', 'music', 'podcast', 'standard']);
    const chains = new Set(Object.values(EFFECTS_PRESETS).map((p) => JSON.stringify([p.voiceChain, p.musicChain])));
    expect(chains.size).toBe(5);
    expect(EFFECTS_PRESETS.standard).toMatchObject({ targetLufs: -14, truePeakDbtp: -1 });
  });

  test('FFMPEG_BIN and FFPROBE_BIN choose the binaries', () => {
    const restore = savedEnv('FFMPEG_BIN', 'FFPROBE_BIN');
    try {
      process.env.FFMPEG_BIN = '/opt/ff/bin/ffmpeg';
      delete process.env.FFPROBE_BIN;
      expect(ffmpegPath()).toBe('/opt/ff/bin/ffmpeg');
      // No ffprobe beside that ffmpeg: the one @ffprobe-installer ships.
      expect(ffprobePath()).toMatch(/@ffprobe-installer\/[a-z0-9-]+\/ffprobe(\.exe)?$/);
      process.env.FFPROBE_BIN = '/opt/ff/bin/ffprobe';
      expect(ffprobePath()).toBe('/opt/ff/bin/ffprobe');
    } finally {
      restore();
    }
  });
});
