/** Inputs made with ffmpeg at test time; nothing binary is committed. */
import { execFileSync } from 'node:child_process';
import { ffmpegPath, ffprobePath } from '../../shared/media';

/** A test-pattern video whose sound is a sine tone (220 Hz unless told), or none with `toneHz: null`. */
export function makeClip(
  path: string,
  opts: { seconds?: number; size?: string; rate?: number; toneHz?: number | null } = {},
): string {
  const seconds = opts.seconds ?? 6;
  const toneHz = opts.toneHz === undefined ? 220 : opts.toneHz;
  const sound =
    toneHz === null
      ? []
      : ['-f', 'lavfi', '-i', `sine=frequency=${toneHz}:sample_rate=48000:duration=${seconds}`, '-c:a', 'aac'];
  execFileSync(ffmpegPath(), [
    '-hide_banner',
    '-loglevel',
    'error',
    '-y',
    '-f',
    'lavfi',
    '-i',
    `testsrc2=size=${opts.size ?? '320x240'}:rate=${opts.rate ?? 25}:duration=${seconds}`,
    ...sound,
    '-c:v',
    'libx264',
    '-preset',
    'ultrafast',
    '-pix_fmt',
    'yuv420p',
    '-shortest',
    path,
  ]);
  return path;
}

export function makeAudioOnly(path: string, seconds = 4): string {
  execFileSync(ffmpegPath(), [
    '-hide_banner',
    '-loglevel',
    'error',
    '-y',
    '-f',
    'lavfi',
    '-i',
    `sine=frequency=440:sample_rate=48000:duration=${seconds}`,
    '-c:a',
    'aac',
    path,
  ]);
  return path;
}

export function makeImage(path: string, size = '800x600'): string {
  execFileSync(ffmpegPath(), [
    '-hide_banner',
    '-loglevel',
    'error',
    '-y',
    '-f',
    'lavfi',
    '-i',
    `testsrc2=size=${size}:duration=1`,
    '-frames:v',
    '1',
    path,
  ]);
  return path;
}

/** md5 of the first video stream's packets: equal when the stream was copied untouched. */
export function videoPacketsMd5(path: string): string {
  return execFileSync(
    ffmpegPath(),
    ['-hide_banner', '-loglevel', 'error', '-i', path, '-map', '0:v:0', '-c', 'copy', '-f', 'md5', '-'],
    {
      encoding: 'utf8',
    },
  ).trim();
}

export function ffprobeJson(path: string): { streams: Record<string, string>[]; format: Record<string, string> } {
  return JSON.parse(
    execFileSync(ffprobePath(), ['-v', 'error', '-print_format', 'json', '-show_streams', '-show_format', path], {
      encoding: 'utf8',
    }),
  );
}
