/**
 * A synthetic input video (ffmpeg's test pattern and a sine tone, H.264/AAC) for the scripts that
 * drive the stack as a partner would: the demo, the load test, the restore drill.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { ffmpegPath } from '../shared/media';

export interface SampleClip {
  seconds: number;
  /** WIDTHxHEIGHT. */
  size: string;
  rate: number;
  toneHz: number;
  /** x264's preset: ultrafast for throwaway inputs, slower for a clip someone watches. */
  preset: 'ultrafast' | 'veryfast';
}

/** Writes the clip to `path` and returns its bytes. */
export function makeSampleClip(path: string, clip: SampleClip): Buffer {
  const { seconds, size, rate, toneHz, preset } = clip;
  // prettier-ignore
  execFileSync(ffmpegPath(), [
    '-hide_banner', '-loglevel', 'error', '-y',
    '-f', 'lavfi', '-i', `testsrc2=size=${size}:rate=${rate}:duration=${seconds}`,
    '-f', 'lavfi', '-i', `sine=frequency=${toneHz}:sample_rate=48000:duration=${seconds}`,
    '-c:v', 'libx264', '-preset', preset, '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-shortest',
    path,
  ]);
  return readFileSync(path);
}
