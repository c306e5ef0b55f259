import { existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import ffprobeInstaller from '@ffprobe-installer/ffprobe';

/**
 * FFPROBE_BIN when set, else an ffprobe installed next to FFMPEG_BIN's ffmpeg, else the one the
 * @ffprobe-installer package ships (ffmpeg-static has no ffprobe, and the Cloud Functions image
 * none either), else `ffprobe`. Apart from binaries.ts: a function that only probes (the
 * upload-inspector) then ships without ffmpeg-static.
 */
export function ffprobePath(): string {
  const fromEnv = process.env.FFPROBE_BIN;
  if (fromEnv) return fromEnv;
  const ffmpeg = process.env.FFMPEG_BIN;
  if (ffmpeg && ffmpeg !== basename(ffmpeg)) {
    const sibling = join(dirname(ffmpeg), basename(ffmpeg).replace(/ffmpeg/i, 'ffprobe'));
    if (sibling !== ffmpeg && existsSync(sibling)) return sibling;
  }
  if (existsSync(ffprobeInstaller.path)) return ffprobeInstaller.path;
  return 'ffprobe';
}
