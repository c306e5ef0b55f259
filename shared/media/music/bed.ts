import { SAMPLE_RATE } from '../audio-format';
import { GraphInputs, type GraphInput } from '../graph-inputs';
import { runFfmpeg } from '../run-ffmpeg';
import { musicFades } from './fades';

/**
 * Music prepared once for a job, as small files that play to any length: a head played once, then
 * a loop played again and again. Nothing about it grows with the video: a generated score is a
 * period of its music, a library track is the track itself.
 */
export interface MusicBed {
  /** Played once from the start; any format, rate and layout ffmpeg reads. */
  head: string;
  /** Played after the head, without end, until the video's length; absent when the head lasts long enough. */
  loop?: string;
  /** Brings the bed to MUSIC_REFERENCE_LUFS. */
  gainDb: number;
  /** Demuxer options for both files, when they are of a kind the bed's maker chose. */
  inputOptions?: readonly string[];
}

/** The files the bed's graph reads, in the order bedGraph() expects their pads. */
export function bedInputs(bed: MusicBed): GraphInput[] {
  const options = bed.inputOptions ? { options: bed.inputOptions } : {};
  return [{ path: bed.head, ...options }, ...(bed.loop ? [{ path: bed.loop, loop: true, ...options }] : [])];
}

/**
 * Filtergraph lines that play the bed from `pads` (the streams of bedInputs(), in order) into
 * `[label]`: exactly `samples` samples of 48 kHz stereo at MUSIC_REFERENCE_LUFS, faded in and out.
 * One stream at a time, head then loop: summing streams as the bed plays would cost each pass as
 * much again.
 */
export function bedGraph(bed: MusicBed, pads: readonly string[], samples: number, label: string): string[] {
  const format = `aresample=${SAMPLE_RATE},aformat=channel_layouts=stereo`;
  const finish = [
    `atrim=end_sample=${samples}`,
    'asetpts=N/SR/TB',
    ...musicFades(samples, SAMPLE_RATE),
    `volume=${bed.gainDb.toFixed(2)}dB`,
  ].join(',');
  const [head, loop] = pads;
  if (!bed.loop) return [`[${head}]${format},${finish}[${label}]`];
  return [
    `[${head}]${format}[${label}_head]`,
    `[${loop}]${format}[${label}_loop]`,
    `[${label}_head][${label}_loop]concat=n=2:v=0:a=1,${finish}[${label}]`,
  ];
}

/** Plays the bed to `samples` samples into a 32-bit float WAV file, as the mix takes it: to listen to it, or to check it. */
export async function writeBed(bed: MusicBed, samples: number, outPath: string, signal?: AbortSignal): Promise<void> {
  const inputs = new GraphInputs();
  const graph = bedGraph(
    bed,
    bedInputs(bed).map((input) => inputs.use(input)),
    samples,
    'music',
  );
  await runFfmpeg(
    [
      ...inputs.args(),
      '-filter_complex',
      [...inputs.graph(), ...graph].join(';'),
      '-map',
      '[music]',
      '-c:a',
      'pcm_f32le',
      '-fflags',
      '+bitexact',
      '-flags:a',
      '+bitexact',
      '-y',
      outPath,
    ],
    { signal },
  );
}
