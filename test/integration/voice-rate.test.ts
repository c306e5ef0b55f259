/**
 * A dub's `voice_id` and `voice_rate` with the local engine, on real ffmpeg output: the request
 * runs through the recipe as a job's would, without music, so the output's sound is the voice
 * alone and its spoken span (first onset to last offset) is measured with silencedetect.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseJobRequest, type JobRequest } from '../../shared/jobs/request';
import { runRecipe } from '../../shared/jobs/recipes';
import { ffmpegPath, MediaError } from '../../shared/media';
import { makeClip } from '../support/media-fixtures';

const run = promisify(execFile);
const VOICE_TEXT = 'Welcome to the launch of our new product. It is faster, lighter and kinder to the planet.';
const LEAD_IN = 0.5;

let dir: string;
let clip: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'voice-rate-'));
  clip = makeClip(join(dir, 'clip.mp4'), { seconds: 12, toneHz: null });
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

function request(fields: Record<string, unknown>): JobRequest {
  const parsed = parseJobRequest({
    video_url: 'https://cdn.example.com/in/clip.mp4',
    voice_text: VOICE_TEXT,
    voice_offset_seconds: LEAD_IN,
    music_style: 'none',
    ...fields,
  });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  return parsed.request;
}

/** Dubs the clip with these fields and answers the output's path. */
async function dubWith(name: string, fields: Record<string, unknown>): Promise<string> {
  const workDir = await mkdtemp(join(dir, `${name}-`));
  const output = await runRecipe(request(fields), {
    inputPath: clip,
    workDir,
    seed: name,
    onProgress: () => undefined,
    onStage: () => undefined,
    signal: new AbortController().signal,
  });
  return output.path;
}

/** From the first sound to the last, in seconds: what lies between the leading and trailing silence. */
async function spokenSpan(path: string): Promise<{ start: number; end: number; seconds: number }> {
  const { stderr } = await run(
    ffmpegPath(),
    [
      '-hide_banner',
      '-nostdin',
      '-nostats',
      '-i',
      path,
      '-map',
      '0:a:0',
      '-af',
      'silencedetect=n=-45dB:d=0.25',
      '-f',
      'null',
      '-',
    ],
    { maxBuffer: 16 << 20 },
  );
  const ends = [...stderr.matchAll(/silence_end: ([\d.]+)/g)].map((m) => Number(m[1]));
  const starts = [...stderr.matchAll(/silence_start: ([\d.]+)/g)].map((m) => Number(m[1]));
  const start = ends[0];
  const end = starts.at(-1);
  if (start === undefined || end === undefined || end <= start) throw new Error(`no spoken span in:\n${stderr}`);
  return { start, end, seconds: end - start };
}

/** The decoded sound's MD5: equal only for the same samples. */
async function soundMd5(path: string): Promise<string> {
  const { stdout } = await run(ffmpegPath(), ['-v', 'error', '-i', path, '-map', '0:a:0', '-f', 'md5', '-']);
  return stdout.trim();
}

describe('voice_rate and voice_id with the local engine', () => {
  test('voice_rate 1.25 speaks the same text measurably faster than 0.8, from the same lead-in', async () => {
    const [slow, normal, fast] = await Promise.all([
      dubWith('slow', { voice_rate: 0.8 }).then(spokenSpan),
      dubWith('normal', {}).then(spokenSpan),
      dubWith('fast', { voice_rate: 1.25 }).then(spokenSpan),
    ]);
    for (const span of [slow, normal, fast]) expect(span.start).toBeCloseTo(LEAD_IN, 0);
    expect(slow.seconds).toBeGreaterThan(normal.seconds);
    expect(fast.seconds).toBeLessThan(normal.seconds);
    // The tempo is exact: 0.8 against 1.25 is a ratio of 1.5625, give or take the detector's edges.
    expect(slow.seconds / fast.seconds).toBeGreaterThan(1.4);
    expect(slow.seconds / fast.seconds).toBeLessThan(1.75);
  });

  test('voice_id picks another voice of the catalogue, and one it does not offer fails the voice', async () => {
    const [own, again, other] = await Promise.all([
      dubWith('slt', {}),
      dubWith('slt-again', {}),
      dubWith('awb', { voice_id: 'awb' }),
    ]);
    const [ownSound, againSound, otherSound] = await Promise.all([own, again, other].map(soundMd5));
    // The same request makes the same sound, sample for sample; another speaker, another sound.
    expect(againSound).toBe(ownSound);
    expect(otherSound).not.toBe(ownSound);

    const err = await dubWith('unknown', { voice_id: 'en-US-Wavenet-F' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(MediaError);
    expect((err as MediaError).code).toBe('voice_synthesis_failed');
  });
});
