/** Inputs made with ffmpeg at test time; nothing binary is committed. */
import { execFileSync } from 'node:child_process';
import { ffmpegPath, ffprobePath } from '../../shared/media';

export function makeClip(path: string, opts: { seconds?: number; size?: string; rate?: number } = {}): string {
  const seconds = opts.seconds ?? 6;
  execFileSync(ffmpegPath(), [
    '-hide_banner',
    '-loglevel',
    'error',
    '-y',
    '-f',
    'lavfi',
    '-i',
    `testsrc2=size=${opts.size ?? '320x240'}:rate=${opts.rate ?? 25}:duration=${seconds}`,
    '-f',
    'lavfi',
    '-i',
    `sine=frequency=220:sample_rate=48000:duration=${seconds}`,
    '-c:v',
    'libx264',
    '-preset',
    'ultrafast',
    '-pix_fmt',
    'yuv420p',
    '-c:a',
    'aac',
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
