import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { resetConfig } from '../../shared/config';
import { dub, EFFECTS_PRESETS, ffmpegPath, inspect } from '../../shared/media';
import { writeBed, type MusicBed } from '../../shared/media/music/bed';
import { configuredMusicLibrary, musicLibrary, type MusicLibrary } from '../../shared/media/music/library';
import { MUSIC_REFERENCE_LUFS } from '../../shared/media/music/styles';
import { localObjectStore, type LocalObjectStore } from '../../shared/storage';
import { savedEnv } from '../support/env';

const run = promisify(execFile);
const RATE = 48000;
const BUCKET = 'aiprod-music';
const PREFIX = 'library/';

/** Everything here is made by ffmpeg at test time: no media is committed. */
let dir: string;
const fixture = (name: string): string => join(dir, name);

const ffmpeg = async (...args: string[]): Promise<string> => {
  const { stderr } = await run(ffmpegPath(), ['-hide_banner', '-nostdin', '-y', ...args], { maxBuffer: 64 << 20 });
  return stderr;
};

/** Two tracks told apart by pitch: 3 s at 1000.25 Hz (44.1 kHz mono, to be converted) and 5 s at 400 Hz. */
const TRACKS = [
  { key: 'tracks/high.wav', hz: 1000.25 },
  { key: 'tracks/low.flac', hz: 400 },
] as const;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'music-library-test-'));
  await Promise.all([
    ffmpeg('-f', 'lavfi', '-i', 'sine=f=1000.25:d=3:sample_rate=44100', '-ac', '1', fixture('high.wav')),
    ffmpeg('-f', 'lavfi', '-i', 'sine=f=400:d=5:sample_rate=48000', '-ac', '2', fixture('low.flac')),
    ffmpeg('-f', 'lavfi', '-i', 'sine=f=1000:d=5:sample_rate=48000', '-ac', '2', fixture('pure-1k.wav')),
    ffmpeg(
      '-f',
      'lavfi',
      '-i',
      'testsrc2=s=320x240:r=25:d=8',
      '-f',
      'lavfi',
      '-i',
      'sine=f=440:d=8:sample_rate=48000',
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      '-pix_fmt',
      'yuv420p',
      '-c:a',
      'aac',
      '-shortest',
      fixture('clip.mp4'),
    ),
    ffmpeg(
      '-f',
      'lavfi',
      '-i',
      'testsrc2=s=64x48:r=25:d=2',
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      fixture('picture.mp4'),
    ),
  ]);
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** A fresh store per test: manifests are cached per store, so tests never see each other's. */
async function storeWith(
  manifests: Record<string, unknown>,
  files: Record<string, string> = {},
): Promise<LocalObjectStore> {
  const store = localObjectStore({
    rootDir: await mkdtemp(join(dir, 'store-')),
    publicBaseUrl: 'http://localhost',
    signingKey: Buffer.alloc(32),
  });
  for (const [style, manifest] of Object.entries(manifests)) {
    const path = join(dir, `manifest-${Math.random().toString(36).slice(2)}.json`);
    await writeFile(path, typeof manifest === 'string' ? manifest : JSON.stringify(manifest));
    await store.put(BUCKET, `${PREFIX}${style}/manifest.json`, path, 'application/json');
  }
  for (const [key, name] of Object.entries(files)) await store.put(BUCKET, key, fixture(name), 'audio/wav');
  return store;
}

const bothTracks = { tracks: TRACKS.map(({ key }, i) => ({ key, title: `Track ${i}`, license: 'CC0' })) };
const bothFiles = { 'tracks/high.wav': 'high.wav', 'tracks/low.flac': 'low.flac' };

function library(store: LocalObjectStore): MusicLibrary {
  return musicLibrary({ store, bucket: BUCKET, prefix: PREFIX });
}

/** The bed as the mix plays it for `seconds` of video, written to a 32-bit float WAV beside the test's fixtures. */
async function played(bed: MusicBed | null, seconds: number): Promise<string> {
  if (!bed) throw new Error('no bed');
  const path = fixture(`bed-${Math.random().toString(36).slice(2)}.wav`);
  await writeBed(bed, Math.round(seconds * RATE), path);
  return path;
}

/** The left channel of a 32-bit float stereo WAV, and the file's format facts. */
async function samplesOf(path: string): Promise<{ left: Float32Array; channels: number; rate: number }> {
  const bytes = await readFile(path);
  let at = 12;
  let channels = 0;
  let rate = 0;
  while (at + 8 <= bytes.length) {
    const id = bytes.toString('latin1', at, at + 4);
    const size = bytes.readUInt32LE(at + 4);
    if (id === 'fmt ') {
      channels = bytes.readUInt16LE(at + 10);
      rate = bytes.readUInt32LE(at + 12);
    }
    if (id === 'data') {
      const frames = size / 4 / channels;
      const left = new Float32Array(frames);
      for (let i = 0; i < frames; i++) left[i] = bytes.readFloatLE(at + 8 + i * 4 * channels);
      return { left, channels, rate };
    }
    at += 8 + size + (size & 1);
  }
  throw new Error(`${path} has no data chunk`);
}

function rms(samples: Float32Array, from: number, to: number): number {
  let sum = 0;
  for (let i = from; i < to; i++) sum += (samples[i] ?? 0) ** 2;
  return Math.sqrt(sum / (to - from));
}

/** Pitch of a steady tone from its zero crossings. */
function pitch(samples: Float32Array, from: number, to: number): number {
  let crossings = 0;
  for (let i = from + 1; i < to; i++) if ((samples[i - 1] ?? 0) < 0 !== (samples[i] ?? 0) < 0) crossings++;
  return crossings / 2 / ((to - from) / RATE);
}

/** The largest step between neighbouring samples: a click is a step far above the tone's own. */
function largestStep(samples: Float32Array, from: number, to: number): number {
  let largest = 0;
  for (let i = from + 1; i < to; i++) largest = Math.max(largest, Math.abs((samples[i] ?? 0) - (samples[i - 1] ?? 0)));
  return largest;
}

async function loudness(path: string, filter = 'anull', from?: number, to?: number): Promise<number> {
  const trim = from === undefined ? [] : ['-ss', String(from), '-to', String(to)];
  const stderr = await ffmpeg(
    '-nostats',
    ...trim,
    '-i',
    path,
    '-map',
    '0:a:0',
    '-af',
    `${filter},ebur128`,
    '-f',
    'null',
    '-',
  );
  return Number(/I:\s+(-?[\d.]+) LUFS/.exec(stderr.slice(stderr.lastIndexOf('Summary:')))?.[1]);
}

const trackIndex = (seed: string): number =>
  Number(BigInt(`0x${createHash('sha256').update(seed).digest('hex')}`) % 2n);

describe('music library', () => {
  test('chooses the track from sha256(seed), the same one every time', async () => {
    const lib = library(await storeWith({ calm: bothTracks }, bothFiles));
    const seeds = ['job-1', 'job-2', 'job-3', 'job-4', 'job-5', 'job-6'];
    expect(new Set(seeds.map(trackIndex))).toEqual(new Set([0, 1]));
    for (const seed of seeds) {
      const path = await played(await lib.prepareTrack('calm', seed, 2, await mkdtemp(join(dir, 'work-'))), 2);
      const { left } = await samplesOf(path);
      expect(Math.abs(pitch(left, RATE / 2, RATE) - TRACKS[trackIndex(seed)]!.hz)).toBeLessThan(10);
    }
    const md5 = async (): Promise<string> => {
      const path = await played(await lib.prepareTrack('calm', 'job-1', 4, await mkdtemp(join(dir, 'work-'))), 4);
      return createHash('md5')
        .update(await readFile(path))
        .digest('hex');
    };
    expect(await md5()).toBe(await md5());
  });

  test.each([
    ['looped with crossfades', 12.5, ['music-head.flac', 'music-loop.flac']],
    ['cut', 2, ['source']],
    ['to an odd length', 7.123457, ['music-head.flac', 'music-loop.flac']],
  ])('fits a track to the video exactly: %s', async (_how, seconds, files) => {
    const lib = library(await storeWith({ jazz: { tracks: [{ key: 'tracks/high.wav' }] } }, bothFiles));
    const workDir = await mkdtemp(join(dir, 'work-'));
    const bed = await lib.prepareTrack('jazz', 'any', seconds, workDir);
    const head = bed?.head ?? '';
    expect(head.startsWith(workDir)).toBe(true);
    const path = await played(bed, seconds);
    const { left, channels, rate } = await samplesOf(path);
    expect({ channels, rate }).toEqual({ channels: 2, rate: RATE });
    expect(left.length).toBe(Math.round(seconds * RATE));
    expect((await inspect(path)).audio).toMatchObject({ sampleRate: RATE, channels: 2 });

    // Faded in and out: the first and last 100 ms far under the middle.
    const tenth = RATE / 10;
    const middle = rms(left, left.length / 2 - tenth, left.length / 2 + tenth);
    expect(rms(left, 0, tenth)).toBeLessThan(middle / 5);
    expect(rms(left, left.length - tenth, left.length)).toBeLessThan(middle / 5);
    // The bed alone is left behind, in a directory of its own: the track as downloaded when it is
    // long enough, else its pieces, and never the manifest.
    expect(await readdir(workDir)).toEqual([basename(dirname(head))]);
    expect((await readdir(dirname(head))).sort()).toEqual(files);
  });

  test('joins the copies of a looped track without a click, at the reference loudness', async () => {
    const lib = library(await storeWith({ jazz: { tracks: [{ key: 'tracks/high.wav' }] } }, bothFiles));
    const path = await played(await lib.prepareTrack('jazz', 'any', 14, await mkdtemp(join(dir, 'work-'))), 14);
    const { left } = await samplesOf(path);
    // 1000.25 Hz over 3 s ends a quarter cycle on, at a crest: a plain cut back to the start would step by the whole amplitude.
    const steady = largestStep(left, 1.6 * RATE, 2 * RATE);
    expect(largestStep(left, 1.5 * RATE, 11 * RATE)).toBeLessThan(steady * 1.5);
    expect(Math.abs(pitch(left, 2 * RATE, 10 * RATE) - 1000.25)).toBeLessThan(10);
    expect(Math.abs((await loudness(path, 'anull', 1.5, 11)) - MUSIC_REFERENCE_LUFS)).toBeLessThan(1.5);
  });

  test('has no track without a manifest, or with an empty one: the music is generated', async () => {
    const lib = library(await storeWith({ calm: { tracks: [] } }));
    const workDir = await mkdtemp(join(dir, 'work-'));
    expect(await lib.prepareTrack('jazz', 'job', 5, workDir)).toBeNull();
    expect(await lib.prepareTrack('calm', 'job', 5, workDir)).toBeNull();
    expect(await readdir(workDir)).toEqual([]);
  });

  test.each([
    ['not JSON', '{"tracks": [', /manifest aiprod-music\/library\/calm\/manifest\.json is not JSON/],
    [
      'a track without a key',
      { tracks: [{ title: 'Untitled' }] },
      /manifest aiprod-music\/library\/calm\/manifest\.json is invalid: tracks\.0\.key/,
    ],
    ['no track list', { track: [] }, /calm\/manifest\.json is invalid: tracks: /],
  ])('refuses a manifest that is %s, naming it', async (_what, manifest, message) => {
    const workDir = await mkdtemp(join(dir, 'work-'));
    await expect(library(await storeWith({ calm: manifest })).prepareTrack('calm', 'job', 5, workDir)).rejects.toThrow(
      message,
    );
    expect(await readdir(workDir)).toEqual([]);
  });

  test('refuses a listed track missing from the bucket, naming it', async () => {
    const workDir = await mkdtemp(join(dir, 'work-'));
    const lib = library(await storeWith({ calm: { tracks: [{ key: 'tracks/gone.wav' }] } }));
    await expect(lib.prepareTrack('calm', 'job', 5, workDir)).rejects.toThrow(
      /track aiprod-music\/tracks\/gone\.wav cannot be used: its style's manifest lists it, but the bucket does not hold it/,
    );
    expect(await readdir(workDir)).toEqual([]);
  });

  test('refuses a listed track with no sound, naming it', async () => {
    const workDir = await mkdtemp(join(dir, 'work-'));
    const lib = library(
      await storeWith({ calm: { tracks: [{ key: 'tracks/picture.mp4' }] } }, { 'tracks/picture.mp4': 'picture.mp4' }),
    );
    await expect(lib.prepareTrack('calm', 'job', 5, workDir)).rejects.toThrow(
      /track aiprod-music\/tracks\/picture\.mp4 cannot be used: the file has no audio stream/,
    );
    expect(await readdir(workDir)).toEqual([]);
  });

  test('reads a style manifest once, then serves it from memory', async () => {
    const store = await storeWith({ calm: { tracks: [{ key: 'tracks/high.wav' }] } }, bothFiles);
    const workDir = await mkdtemp(join(dir, 'work-'));
    expect(await library(store).prepareTrack('calm', 'job', 2, workDir)).not.toBeNull();
    await store.delete(BUCKET, `${PREFIX}calm/manifest.json`);
    // A new library object on the same store, as a job layer building one per job would.
    expect(await library(store).prepareTrack('calm', 'job', 2, workDir)).not.toBeNull();
  });

  test('is configured by AIPROD_MUSIC_BUCKET and AIPROD_MUSIC_PREFIX, and absent without a bucket', async () => {
    const store = await storeWith({ calm: { tracks: [{ key: 'tracks/high.wav' }] } }, bothFiles);
    const restore = savedEnv('AIPROD_MUSIC_BUCKET', 'AIPROD_MUSIC_PREFIX');
    try {
      delete process.env.AIPROD_MUSIC_BUCKET;
      resetConfig();
      expect(configuredMusicLibrary(store)).toBeNull();
      process.env.AIPROD_MUSIC_BUCKET = BUCKET;
      process.env.AIPROD_MUSIC_PREFIX = PREFIX;
      resetConfig();
      expect(
        await configuredMusicLibrary(store)?.prepareTrack('calm', 'job', 2, await mkdtemp(join(dir, 'work-'))),
      ).not.toBeNull();
    } finally {
      restore();
      resetConfig();
    }
  });
});

describe('music library in dub()', () => {
  test('puts the library track under the voice instead of generated music', async () => {
    const lib = library(
      await storeWith({ calm: { tracks: [{ key: 'tracks/pure-1k.wav' }] } }, { 'tracks/pure-1k.wav': 'pure-1k.wav' }),
    );
    const dubbed = async (musicLibrary: MusicLibrary | null): Promise<{ path: string; workDir: string }> => {
      const workDir = await mkdtemp(join(dir, 'work-'));
      const outputPath = join(dir, `out-${Math.random().toString(36).slice(2)}.mp4`);
      await dub({
        inputPath: fixture('clip.mp4'),
        workDir,
        outputPath,
        tracks: [{ language: 'en', voiceText: 'Hello.' }],
        musicStyle: 'calm',
        effectsPreset: 'standard',
        seed: 'job-1',
        maxInputSeconds: 3600,
        musicLibrary,
      });
      return { path: outputPath, workDir };
    };
    const [fromLibrary, generated] = await Promise.all([dubbed(lib), dubbed(null)]);

    // After the short voice, before the fade-out, the music plays alone: a pure 1 kHz tone loses
    // almost nothing through a narrow 1 kHz band-pass; generated music loses most of its sound.
    const bandLoss = async (path: string): Promise<number> =>
      (await loudness(path, 'anull', 2.5, 5)) - (await loudness(path, 'bandpass=f=1000:width_type=q:w=8', 2.5, 5));
    expect(await bandLoss(fromLibrary.path)).toBeLessThan(1.5);
    expect(await bandLoss(generated.path)).toBeGreaterThan(6);

    expect(Math.abs((await loudness(fromLibrary.path)) - EFFECTS_PRESETS.standard.targetLufs)).toBeLessThanOrEqual(0.5);
    expect(await readdir(fromLibrary.workDir)).toEqual([]);
  });
});
