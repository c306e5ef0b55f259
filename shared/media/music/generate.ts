import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { SAMPLE_RATE } from '../audio-format';
import { PIPED_PCM, runPiped } from '../piped';
import { writeBed, type MusicBed } from './bed';
import { compose, type Score } from './compose';
import { seededRandom } from './random';
import { finishScore, renderParts, reverbSeconds, scorePeriod, splitParts } from './render';
import { MUSIC_STYLES, STYLES, type MusicStyle } from './styles';

/** How much of a bed's WAV file the mix reads at a time: 8192 stereo float samples. */
const WAV_PACKET_BYTES = 65536;

export function isMusicStyle(value: string): value is MusicStyle {
  return (MUSIC_STYLES as readonly string[]).includes(value);
}

/** The score the style and seed write: the same seed always writes the same music. */
export function scoreOf(style: MusicStyle, seed: string): Score {
  return compose(STYLES[style], seededRandom(`${style}:${seed}`));
}

/**
 * Generated music for a video of `samples` samples, as a bed: rendered once, into `dir`. A video
 * no longer than the score's period gets its first `samples` samples, as the head; a longer one
 * gets the first period as the head and, as the loop, the next period, which is the first with
 * the room's echoes of the period before: the first period with its first echo-long stretch taken
 * from the run on past its end (the room only echoes its input, so from there on the music is
 * periodic). Head, then loop repeated, is sample for sample the music rendered to any length, at a
 * cost that does not grow with it. The parts are rendered by two runs at once, one core each, in
 * groups of about the same cost; a third sums them, through the room, into the files (float WAV,
 * as the graph computes).
 */
export async function prepareMusic(options: {
  style: MusicStyle;
  seed: string;
  samples: number;
  dir: string;
  signal?: AbortSignal;
}): Promise<MusicBed> {
  const spec = STYLES[options.style];
  const score = scoreOf(options.style, options.seed);
  const period = scorePeriod(score, SAMPLE_RATE);
  const head = join(options.dir, 'music-head.wav');
  const loop = join(options.dir, 'music-loop.wav');
  const looped = options.samples > period;
  const echo = Math.ceil(reverbSeconds(spec.reverb) * SAMPLE_RATE);
  // Without a room the first period is already the loop.
  const settles = looped && echo > 0;
  const samples = settles ? period + echo : Math.min(options.samples, period);

  const groups = splitParts(score, SAMPLE_RATE, samples).filter((parts) => parts.length > 0);
  const scripts = groups.map((_, i) => join(options.dir, `music-${i}.graph`));
  // Tens of kilobytes of expressions: script files keep them off the command line.
  await Promise.all(
    groups.map((parts, i) =>
      writeFile(scripts[i]!, renderParts(score, parts, { sampleRate: SAMPLE_RATE, samples, label: 'dry' })),
    ),
  );
  const sum = `${groups.map((_, i) => `[${i}:a]`).join('')}amix=inputs=${groups.length}:normalize=0`;
  const music = `${sum},${finishScore({ samples, gainDb: spec.gainDb, ...(spec.reverb ? { reverb: spec.reverb } : {}) })}`;
  const graph = settles
    ? [
        `${music},asplit=3[first][after][rest]`,
        `[first]atrim=end_sample=${period}[head]`,
        `[after]atrim=start_sample=${period},asetpts=N/SR/TB[settled]`,
        `[rest]atrim=start_sample=${echo}:end_sample=${period},asetpts=N/SR/TB[body]`,
        '[settled][body]concat=n=2:v=0:a=1[loop]',
      ].join(';')
    : `${music}[head]`;
  // Bit-exact headers: the same music is the same bytes.
  const out = (label: string, path: string): string[] => [
    ...['-map', `[${label}]`, '-c:a', 'pcm_f32le', '-fflags', '+bitexact', '-flags:a', '+bitexact', path],
  ];
  try {
    await runPiped(
      [
        ...scripts.map((script) => ({
          args: ['-filter_complex_script', script, '-map', '[dry]', ...PIPED_PCM, 'pipe:1'],
        })),
        {
          args: [
            '-y',
            ...groups.flatMap((_, i) => [...PIPED_PCM, '-i', `pipe:${3 + i}`]),
            ...['-filter_complex', graph, ...out('head', head), ...(settles ? out('loop', loop) : [])],
          ],
          reads: groups.map((_, i) => i),
        },
      ],
      { signal: options.signal },
    );
  } finally {
    await Promise.all(scripts.map((script) => rm(script, { force: true })));
  }
  // WAV is read 4 KiB a packet unless told: each packet costs every filter a call, and at that size
  // the calls cost as much as the samples do.
  const inputOptions = ['-max_size', String(WAV_PACKET_BYTES)];
  if (!looped) return { head, gainDb: 0, inputOptions };
  return { head, loop: settles ? loop : head, gainDb: 0, inputOptions };
}

/** Writes the music alone to a 32-bit float WAV file, as dub() plays it: for previews, and to check a style by ear. */
export async function generateMusic(options: {
  style: MusicStyle;
  seed: string;
  durationSeconds: number;
  outputPath: string;
  signal?: AbortSignal;
}): Promise<void> {
  const samples = Math.round(options.durationSeconds * SAMPLE_RATE);
  const dir = await mkdtemp(join(dirname(options.outputPath), 'music-'));
  try {
    const bed = await prepareMusic({ style: options.style, seed: options.seed, samples, dir, signal: options.signal });
    await writeBed(bed, samples, options.outputPath, options.signal);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
