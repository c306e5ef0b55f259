/**
 * ffmpeg runs piped into one another (piped.ts): the data flows, and a failure anywhere ends every
 * run with that failure's own error, never a hang on a pipe nobody reads.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MediaError } from '../../../shared/media';
import { LOUDNESS_METER, METER_ARGS, parseLoudnessSummary } from '../../../shared/media/loudness';
import { PIPED_PCM, runPiped } from '../../../shared/media/piped';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'media-piped-'));
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** A run that writes `seconds` of a tone (for ever without) to its stdout. */
const tone = (seconds?: number): string[] => [
  ...['-f', 'lavfi', '-i', `sine=f=440:sample_rate=48000${seconds ? `:d=${seconds}` : ''}`],
  ...['-ac', '2', ...PIPED_PCM, 'pipe:1'],
];

test('two runs feed a third, each read from its own pipe, in order', async () => {
  const quieter = ['-f', 'lavfi', '-i', 'sine=f=440:sample_rate=48000:d=3', '-af', 'volume=-20dB'];
  const { stderr } = await runPiped(
    [
      { args: tone(3) },
      { args: [...quieter, '-ac', '2', ...PIPED_PCM, 'pipe:1'] },
      {
        // The first pipe silenced: what is left to measure comes from the second.
        args: [
          ...[...PIPED_PCM, '-i', 'pipe:3', ...PIPED_PCM, '-i', 'pipe:4'],
          ...['-filter_complex', `[0]volume=0[first];[first][1]amix=inputs=2:normalize=0,${LOUDNESS_METER}`],
          ...['-f', 'null', '-'],
        ],
        reads: [0, 1],
      },
    ],
    { logLevel: 'info' },
  );
  // ffmpeg's sine (amplitude 1/8) on both channels reads -21.8 LUFS: 20 dB down, -41.8; read in the
  // wrong order, the loud one would be left.
  expect(parseLoudnessSummary(stderr).integratedLufs).toBeCloseTo(-41.8, 0);
});

test('a writer that fails fails the pipeline with its own error, and ends its reader', async () => {
  const err = await runPiped([
    { args: ['-i', join(dir, 'missing.wav'), ...PIPED_PCM, 'pipe:1'] },
    { args: [...PIPED_PCM, '-i', 'pipe:3', ...METER_ARGS], reads: [0] },
  ]).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(MediaError);
  expect((err as MediaError).code).toBe('ffmpeg_failed');
  expect((err as MediaError).detail).toMatch(/missing\.wav/);
});

test('a reader that fails stops its endless writer and fails with its own error', async () => {
  const err = await runPiped([
    { args: tone() },
    { args: [...PIPED_PCM, '-i', 'pipe:3', '-af', 'no_such_filter', '-f', 'null', '-'], reads: [0] },
  ]).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(MediaError);
  expect((err as MediaError).detail).toMatch(/no_such_filter/);
});

test('an abort stops every run with processing_timeout', async () => {
  const controller = new AbortController();
  const running = runPiped(
    [{ args: tone() }, { args: [...PIPED_PCM, '-i', 'pipe:3', '-f', 'null', '-'], reads: [0] }],
    { signal: controller.signal },
  );
  setTimeout(() => controller.abort(), 300);
  await expect(running).rejects.toMatchObject({ code: 'processing_timeout' });
});

test('refuses a pipeline whose writer nobody reads', async () => {
  await expect(
    runPiped([{ args: tone(1) }, { args: ['-f', 'lavfi', '-i', 'anullsrc', '-t', '1', '-f', 'null', '-'] }]),
  ).rejects.toThrow(/run 0 must be read by exactly one later run/);
});
