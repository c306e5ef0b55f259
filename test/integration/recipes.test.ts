/** The extract_audio and still recipes on real ffmpeg output, and their bad-input codes. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  dub,
  extractAudio,
  ffmpegPath,
  measureLoudness,
  renderStill,
  type AudioFormat,
  type EffectsPresetName,
} from '../../shared/media';
import { ffprobeJson, makeClip } from '../support/media-fixtures';

let dir: string;

const ffmpeg = (...args: string[]) => execFileSync(ffmpegPath(), ['-hide_banner', '-loglevel', 'error', '-y', ...args]);

/** A video whose sound is `source` (an lavfi audio source), 6 s. */
function clipWithSound(name: string, source: string): string {
  const path = join(dir, name);
  ffmpeg(
    '-f',
    'lavfi',
    '-i',
    'testsrc2=size=160x120:rate=10:duration=6',
    '-f',
    'lavfi',
    '-i',
    source,
    '-t',
    '6',
    '-c:v',
    'libx264',
    '-preset',
    'ultrafast',
    '-c:a',
    'aac',
    '-b:a',
    '192k',
    path,
  );
  return path;
}

function scratch(): string {
  return mkdtempSync(join(dir, 'work-'));
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'aiprod-recipes-'));
});

describe('extract_audio', () => {
  const cases: [string, () => string][] = [
    ['a tone', () => makeClip(join(dir, 'tone.mp4'), { seconds: 6 })],
    [
      'speech',
      () => clipWithSound('speech.mp4', 'flite=text=The quick brown fox jumps over the lazy dog again and again.'),
    ],
    [
      'music-like chords',
      () =>
        clipWithSound(
          'chords.mp4',
          'aevalsrc=0.2*sin(2*PI*220*t)+0.15*sin(2*PI*277*t)+0.1*sin(2*PI*330*t)*(1+sin(2*PI*0.5*t)):s=48000',
        ),
    ],
    ['near-silence', () => clipWithSound('hiss.mp4', 'anoisesrc=color=pink:amplitude=0.002:sample_rate=48000')],
  ];

  it.each(cases)('normalizes %s to within 0.5 LU of the target, under the ceiling', async (_what, make) => {
    const input = make();
    const outputPath = join(dir, `${_what.replace(/\W/g, '')}.m4a`);
    const r = await extractAudio({
      inputPath: input,
      outputPath,
      format: 'm4a',
      effectsPreset: 'standard',
      maxInputSeconds: 3600,
    });
    const measured = await measureLoudness(outputPath);
    expect(Math.abs(measured.integratedLufs - -14)).toBeLessThanOrEqual(0.5);
    expect(measured.truePeakDbtp).toBeLessThanOrEqual(-1);
    expect(r.loudness.integratedLufs).toBeCloseTo(measured.integratedLufs, 1);
  });

  it.each([
    ['mp3', 'mp3', 'mp3'],
    ['m4a', 'aac', 'mov,mp4,m4a,3gp,3g2,mj2'],
    ['wav', 'pcm_s16le', 'wav'],
  ] as [AudioFormat, string, string][])(
    'writes %s (%s), 48 kHz, no video, at the podcast target',
    async (format, codec, container) => {
      const outputPath = join(dir, `out.${format}`);
      const r = await extractAudio({
        inputPath: makeClip(join(dir, `src-${format}.mp4`)),
        outputPath,
        format,
        effectsPreset: 'podcast' as EffectsPresetName,
        maxInputSeconds: 3600,
      });
      const probe = ffprobeJson(outputPath);
      expect(probe.streams).toHaveLength(1);
      expect(probe.streams[0]).toMatchObject({ codec_type: 'audio', codec_name: codec, sample_rate: '48000' });
      expect(probe.format.format_name).toBe(container);
      expect(Math.abs(r.loudness.integratedLufs - -16)).toBeLessThanOrEqual(0.5);
      expect(Math.abs(Number(probe.format.duration) - 6)).toBeLessThanOrEqual(0.1);
    },
  );

  it('fails with no_audio for a video without sound, and silent_audio for digital silence', async () => {
    const mute = join(dir, 'mute.mp4');
    ffmpeg(
      '-f',
      'lavfi',
      '-i',
      'testsrc2=size=160x120:rate=10:duration=3',
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      mute,
    );
    const silent = clipWithSound('silent.mp4', 'anullsrc=r=48000:cl=stereo');
    const run = (inputPath: string) =>
      extractAudio({
        inputPath,
        outputPath: join(dir, 'x.m4a'),
        format: 'm4a',
        effectsPreset: 'standard',
        maxInputSeconds: 3600,
      });
    await expect(run(mute)).rejects.toMatchObject({ code: 'no_audio' });
    await expect(run(silent)).rejects.toMatchObject({ code: 'silent_audio' });
  });

  it('fails with input_too_long past the configured limit', async () => {
    await expect(
      extractAudio({
        inputPath: makeClip(join(dir, 'long.mp4')),
        outputPath: join(dir, 'y.m4a'),
        format: 'm4a',
        effectsPreset: 'standard',
        maxInputSeconds: 5,
      }),
    ).rejects.toMatchObject({ code: 'input_too_long' });
  });
});

describe('still', () => {
  let image: string;
  beforeAll(() => {
    image = join(dir, 'cover.png');
    ffmpeg('-f', 'lavfi', '-i', 'testsrc2=size=1600x1200:duration=1', '-frames:v', '1', image);
  });

  it('renders an H.264 video of the exact duration, letterboxed into the frame', async () => {
    const out = join(dir, 'still.mp4');
    const work = scratch();
    await renderStill({ imagePath: image, workDir: work, outputPath: out, durationSeconds: 37.4, resolution: '1080p' });
    const probe = ffprobeJson(out);
    const video = probe.streams.find((s) => s.codec_type === 'video')!;
    expect(video).toMatchObject({ codec_name: 'h264', width: 1920, height: 1080, pix_fmt: 'yuv420p' });
    expect(Math.abs(Number(probe.format.duration) - 37.4)).toBeLessThanOrEqual(0.04);
    expect(readdirSync(work)).toEqual([]);
  });

  it('puts music alone on the picture when there is no voice-over', async () => {
    const picture = join(dir, 'still-for-music.mp4');
    await renderStill({
      imagePath: image,
      workDir: scratch(),
      outputPath: picture,
      durationSeconds: 10,
      resolution: '720p',
    });
    const out = join(dir, 'still-music.mp4');
    const work = scratch();
    const r = await dub({
      inputPath: picture,
      workDir: work,
      outputPath: out,
      tracks: [{ language: 'en', voiceText: '' }],
      musicStyle: 'calm',
      effectsPreset: 'ambient',
      maxInputSeconds: 3600,
      seed: 'still-seed',
    });
    expect(r.videoCopied).toBe(true);
    expect(Math.abs(r.tracks[0]!.loudness.integratedLufs - -18)).toBeLessThanOrEqual(0.5);
    expect(r.tracks[0]!.loudness.truePeakDbtp).toBeLessThanOrEqual(-2);
    expect(Math.abs(r.output.durationSeconds - 10)).toBeLessThanOrEqual(0.1);
    expect(readdirSync(work)).toEqual([]);
  });

  it.each([
    [
      'a text file',
      () => {
        const p = join(dir, 'notes.png');
        writeFileSync(p, 'not an image at all\n'.repeat(20));
        return p;
      },
    ],
    ['a video', () => makeClip(join(dir, 'moving.mp4'))],
  ])('fails with not_an_image for %s', async (_what, make) => {
    await expect(
      renderStill({
        imagePath: make(),
        workDir: scratch(),
        outputPath: join(dir, 'z.mp4'),
        durationSeconds: 5,
        resolution: '720p',
      }),
    ).rejects.toMatchObject({ code: 'not_an_image' });
  });
});
