import { rm, writeFile } from 'node:fs/promises';
import { SAMPLE_RATE } from '../audio-format';
import { runFfmpeg } from '../run-ffmpeg';
import { compose } from './compose';
import { seededRandom } from './random';
import { renderScore } from './render';
import { MUSIC_STYLES, STYLES, type MusicStyle } from './styles';

export function isMusicStyle(value: string): value is MusicStyle {
  return (MUSIC_STYLES as readonly string[]).includes(value);
}

/**
 * The filtergraph that generates `samples` samples of stereo music in `style` at 48 kHz, faded in
 * and out, ending in the pad `[label]`. It has no inputs, so it can sit inside a larger graph.
 * Deterministic: the same style, seed and length give the same samples, bit for bit.
 */
export function musicGraph(style: MusicStyle, seed: string, samples: number, label: string): string {
  const spec = STYLES[style];
  const score = compose(spec, seededRandom(`${style}:${seed}`));
  return renderScore(score, {
    sampleRate: SAMPLE_RATE,
    samples,
    gainDb: spec.gainDb,
    label,
    ...(spec.reverb ? { reverb: spec.reverb } : {}),
  });
}

/** Writes the music alone to a 16-bit WAV file: for previews, and to check a style by ear. */
export async function generateMusic(options: {
  style: MusicStyle;
  seed: string;
  durationSeconds: number;
  outputPath: string;
  signal?: AbortSignal;
}): Promise<void> {
  const samples = Math.round(options.durationSeconds * SAMPLE_RATE);
  // The graph is tens of kilobytes of expressions: a script file keeps it off the command line.
  const script = `${options.outputPath}.graph`;
  await writeFile(script, musicGraph(options.style, options.seed, samples, 'music'));
  try {
    await runFfmpeg(
      [
        '-filter_complex_script',
        script,
        '-map',
        '[music]',
        '-c:a',
        'pcm_s16le',
        '-fflags',
        '+bitexact',
        '-flags:a',
        '+bitexact',
        '-y',
        options.outputPath,
      ],
      { signal: options.signal },
    );
  } finally {
    await rm(script, { force: true });
  }
}
