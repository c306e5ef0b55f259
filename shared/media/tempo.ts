import { runFfmpeg } from './run-ffmpeg';

/**
 * Plays `inPath` `factor` times as fast into a 16-bit WAV at `outPath`, the pitch kept: ffmpeg's
 * atempo stretches time without resampling, so a voice sped up does not rise in pitch.
 * `factor` must lie within atempo's 0.5 to 100.
 */
export async function changeTempo(
  inPath: string,
  outPath: string,
  factor: number,
  signal?: AbortSignal,
): Promise<void> {
  await runFfmpeg(['-i', inPath, '-af', `atempo=${factor}`, '-c:a', 'pcm_s16le', '-y', outPath], { signal });
}
