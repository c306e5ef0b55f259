import { SAMPLE_RATE } from './audio-format';
import { LOUDNESS_METER, parseLoudnessSummary } from './loudness';
import { runFfmpeg } from './run-ffmpeg';

/**
 * The input's first audio stream as the mix takes it: 48 kHz stereo, exactly `samples` long. A
 * stream that starts after the picture (its first timestamp past zero) is preceded by silence, so
 * the sound stays in sync with the copied picture; one that ends early is padded.
 */
export function originalSoundChain(samples: number): string {
  return [
    `aresample=${SAMPLE_RATE}:async=1:first_pts=0`,
    'aformat=channel_layouts=stereo',
    `apad=whole_len=${samples}`,
    `atrim=end_sample=${samples}`,
  ].join(',');
}

/**
 * Integrated loudness (LUFS) of the input's own sound as the mix will take it: the mix sets its
 * level from this. Only the audio is decoded; -70 is digital silence.
 */
export async function measureOriginalSound(path: string, samples: number, signal?: AbortSignal): Promise<number> {
  const { stderr } = await runFfmpeg(
    ['-i', path, '-map', '0:a:0', '-af', `${originalSoundChain(samples)},${LOUDNESS_METER}`, '-f', 'null', '-'],
    { signal, logLevel: 'info' },
  );
  return parseLoudnessSummary(stderr).integratedLufs;
}
