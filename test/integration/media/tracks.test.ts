/**
 * dub() with several tracks and captions, on real ffmpeg output read back with ffprobe and the
 * EBU R128 meter: one AAC stream per language, each normalized on its own and tagged, the first the
 * default; captions as language-tagged mov_text streams, or burned into a re-encoded picture.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { dub, EFFECTS_PRESETS, ffmpegPath, type DubRequest, type DubResult } from '../../../shared/media';
import { ffprobeJson, makeClip, videoPacketsMd5 } from '../../support/media-fixtures';

const run = promisify(execFile);
const PRESET = EFFECTS_PRESETS.podcast;
const WIDTH = 320;
const HEIGHT = 240;
const TRACKS = [
  { language: 'en', voiceText: 'Hello, and welcome.' },
  { language: 'fr', voiceText: 'Bonjour et bienvenue a tous.' },
  { language: 'de', voiceText: '' },
] as const;

let dir: string;
let clip: string;

beforeAll(async () => {
  // A directory name with what filtergraphs and their options treat as syntax: the burned
  // captions' path must reach libass as it is.
  dir = await mkdtemp(join(tmpdir(), "media-tracks it's: [a], b; c-"));
  clip = makeClip(join(dir, 'clip.mp4'), { seconds: 5, size: `${WIDTH}x${HEIGHT}` });
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function request(overrides: Partial<DubRequest>): Promise<DubRequest> {
  return {
    inputPath: clip,
    workDir: await mkdtemp(join(dir, 'work-')),
    outputPath: join(dir, `out-${Math.random().toString(36).slice(2)}.mp4`),
    tracks: [TRACKS[0]],
    musicStyle: 'calm',
    effectsPreset: 'podcast',
    seed: 'job-tracks',
    maxInputSeconds: 3600,
    ...overrides,
  };
}

async function ffmpegStderr(...args: string[]): Promise<string> {
  const { stderr } = await run(ffmpegPath(), ['-hide_banner', '-nostdin', '-nostats', ...args], {
    maxBuffer: 16 << 20,
  });
  return stderr;
}

/** Integrated loudness and true peak of one audio stream, as a player would measure them. */
async function loudnessOf(path: string, stream: number): Promise<{ i: number; tp: number }> {
  const stderr = await ffmpegStderr('-i', path, '-map', `0:a:${stream}`, '-af', 'ebur128=peak=true', '-f', 'null', '-');
  const summary = stderr.slice(stderr.lastIndexOf('Summary:'));
  return {
    i: Number(/I:\s+(-?[\d.]+) LUFS/.exec(summary)?.[1]),
    tp: Number(/Peak:\s+(-?[\d.]+) dBFS/.exec(summary)?.[1]),
  };
}

/** md5 of one audio stream's decoded samples. */
async function audioMd5(path: string, stream: number): Promise<string> {
  const { stdout } = await run(ffmpegPath(), ['-v', 'error', '-i', path, '-map', `0:a:${stream}`, '-f', 'md5', '-']);
  return stdout.trim();
}

/** The picture at `seconds`, as 8-bit luma, row after row. */
async function lumaAt(path: string, seconds: number): Promise<Buffer> {
  const { stdout } = await run(
    ffmpegPath(),
    ['-v', 'error', '-ss', String(seconds), '-i', path, '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'gray', '-'],
    { encoding: 'buffer', maxBuffer: 16 << 20 },
  );
  return stdout;
}

/** Mean absolute difference of two luma pictures within a box, its edges as fractions of the width and height. */
function difference(a: Buffer, b: Buffer, box: { top: number; bottom: number; left: number; right: number }): number {
  let sum = 0;
  let pixels = 0;
  for (let y = Math.round(box.top * HEIGHT); y < Math.round(box.bottom * HEIGHT); y++) {
    for (let x = Math.round(box.left * WIDTH); x < Math.round(box.right * WIDTH); x++) {
      sum += Math.abs((a[y * WIDTH + x] ?? 0) - (b[y * WIDTH + x] ?? 0));
      pixels++;
    }
  }
  return sum / pixels;
}

type Stream = {
  codec_type: string;
  codec_name: string;
  tags?: { language?: string };
  disposition?: { default?: number };
};
const streamsOf = (path: string, type: string): Stream[] =>
  (ffprobeJson(path).streams as unknown as Stream[]).filter((s) => s.codec_type === type);

describe('dub with several tracks', () => {
  let req: DubRequest;
  let result: DubResult;

  beforeAll(async () => {
    req = await request({
      tracks: [TRACKS[0], TRACKS[1], TRACKS[2]],
      captions: 'soft',
    });
    result = await dub(req);
  });

  test('one AAC stream per track, tagged with its ISO 639-2 language, the first alone the default', () => {
    const audio = streamsOf(req.outputPath, 'audio');
    expect(audio.map((s) => s.codec_name)).toEqual(['aac', 'aac', 'aac']);
    expect(audio.map((s) => s.tags?.language)).toEqual(['eng', 'fra', 'deu']);
    expect(audio.map((s) => s.disposition?.default)).toEqual([1, 0, 0]);
    expect(result.output.audioStreams).toEqual([
      { codec: 'aac', sampleRate: 48000, channels: 2, language: 'eng' },
      { codec: 'aac', sampleRate: 48000, channels: 2, language: 'fra' },
      { codec: 'aac', sampleRate: 48000, channels: 2, language: 'deu' },
    ]);
    expect(result.output.audio).toEqual({ codec: 'aac', sampleRate: 48000, channels: 2 });
  });

  test('each track is its own mix, normalized to the target on its own, as the result says', async () => {
    const measured = await Promise.all(TRACKS.map((_, i) => loudnessOf(req.outputPath, i)));
    measured.forEach(({ i, tp }, n) => {
      expect(Math.abs(i - PRESET.targetLufs)).toBeLessThanOrEqual(0.5);
      expect(tp).toBeLessThanOrEqual(PRESET.truePeakDbtp);
      expect(Math.abs(result.tracks[n]!.loudness.integratedLufs - i)).toBeLessThanOrEqual(0.2);
    });
    const md5s = await Promise.all(TRACKS.map((_, i) => audioMd5(req.outputPath, i)));
    expect(new Set(md5s).size).toBe(3);
    expect(result.tracks.map((t) => t.language)).toEqual(['en', 'fr', 'de']);
    // One line per sentence, the first heard from the lead-in on; none for music alone.
    expect(result.tracks[0]!.lines).toEqual([
      expect.objectContaining({ text: TRACKS[0].voiceText, startSeconds: expect.closeTo(0.5, 2) }),
    ]);
    expect(result.tracks[1]!.lines[0]!.endSeconds).toBeGreaterThan(result.tracks[0]!.lines[0]!.endSeconds);
    expect(result.tracks[2]!.lines).toEqual([]);
  });

  test('captions as mov_text streams tagged with their track language, the picture copied', () => {
    const subtitles = streamsOf(req.outputPath, 'subtitle');
    expect(subtitles.map((s) => [s.codec_name, s.tags?.language])).toEqual([
      ['mov_text', 'eng'],
      ['mov_text', 'fra'],
    ]);
    expect(result.videoCopied).toBe(true);
    expect(videoPacketsMd5(req.outputPath)).toBe(videoPacketsMd5(clip));
  });

  test("writes each speaking track's WebVTT and SRT sidecars into the work dir, and nothing else", async () => {
    expect((await readdir(req.workDir)).sort()).toEqual([
      'captions.en.srt',
      'captions.en.vtt',
      'captions.fr.srt',
      'captions.fr.vtt',
    ]);
    expect(result.tracks.map((t) => t.captions)).toEqual([
      { webvttPath: join(req.workDir, 'captions.en.vtt'), srtPath: join(req.workDir, 'captions.en.srt') },
      { webvttPath: join(req.workDir, 'captions.fr.vtt'), srtPath: join(req.workDir, 'captions.fr.srt') },
      null,
    ]);
    const vtt = await readFile(result.tracks[0]!.captions!.webvttPath, 'utf8');
    expect(vtt).toMatch(/^WEBVTT\n\n00:00:00\.\d{3} --> 00:00:0\d\.\d{3}\nHello, and welcome\.\n/);
  });
});

describe('dub with burned captions', () => {
  test("renders the first track's captions into a re-encoded picture, the others' stay soft", async () => {
    const req = await request({ tracks: [TRACKS[0], TRACKS[1]], captions: 'burn' });
    const result = await dub(req);
    const spoken = result.tracks[0]!.lines[0]!;
    const showing = (spoken.startSeconds + spoken.endSeconds) / 2;

    expect(result.videoCopied).toBe(false);
    const [video] = streamsOf(req.outputPath, 'video');
    expect(video).toMatchObject({ codec_name: 'h264', width: WIDTH, height: HEIGHT, pix_fmt: 'yuv420p' });
    expect(videoPacketsMd5(req.outputPath)).not.toBe(videoPacketsMd5(clip));
    expect(streamsOf(req.outputPath, 'subtitle').map((s) => [s.codec_name, s.tags?.language])).toEqual([
      ['mov_text', 'fra'],
    ]);
    expect(streamsOf(req.outputPath, 'audio').map((s) => s.tags?.language)).toEqual(['eng', 'fra']);

    // While the caption shows, the picture differs from the input's where captions go, centred a
    // little above the bottom; elsewhere, and there once the caption is gone, only by the re-encoding.
    const [during, inputDuring, after, inputAfter] = await Promise.all([
      lumaAt(req.outputPath, showing),
      lumaAt(clip, showing),
      lumaAt(req.outputPath, 4),
      lumaAt(clip, 4),
    ]);
    const captionBox = { top: 0.85, bottom: 0.95, left: 0.3, right: 0.7 };
    const encoding = difference(during, inputDuring, { top: 0, bottom: 0.6, left: 0, right: 1 });
    expect(encoding).toBeLessThan(3);
    expect(difference(during, inputDuring, captionBox)).toBeGreaterThan(encoding + 15);
    expect(difference(after, inputAfter, captionBox)).toBeLessThan(3);
    expect(result.tracks[0]!.captions).not.toBeNull();
  });

  test('turns a rotated picture upright before burning, so the text stands upright too', async () => {
    const rotated = join(dir, 'rotated.mp4');
    await run(ffmpegPath(), ['-v', 'error', '-i', clip, '-c', 'copy', '-metadata:s:v:0', 'rotate=90', rotated]);
    const req = await request({
      inputPath: rotated,
      tracks: [TRACKS[0]],
      captions: 'burn',
    });
    const result = await dub(req);
    expect(result.output.video).toMatchObject({ width: HEIGHT, height: WIDTH, rotation: 0 });
  });

  test('refuses what it cannot make: burning without captions, a silent track, too few or many tracks', async () => {
    await expect(dub(await request({ tracks: [TRACKS[2], TRACKS[0]], captions: 'burn' }))).rejects.toThrow(
      /burned captions need a first track that speaks/,
    );
    await expect(dub(await request({ tracks: [TRACKS[0], TRACKS[2]], musicStyle: 'none' }))).rejects.toThrow(
      /every track of a dub needs a voice, music or the original sound/,
    );
    await expect(dub(await request({ tracks: [] }))).rejects.toThrow(RangeError);
    await expect(dub(await request({ tracks: Array.from({ length: 9 }, () => TRACKS[0]) }))).rejects.toThrow(
      /1 to 8 tracks/,
    );
  });
});
