import { existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import ffmpegStatic from 'ffmpeg-static';
import ffprobeInstaller from '@ffprobe-installer/ffprobe';

/**
 * Which ffmpeg to run: FFMPEG_BIN when set (deployments pin a build), else the ffmpeg-static
 * download when its binary is really there (the package installs without it when the download is
 * skipped or the platform has no build), else whatever `ffmpeg` the PATH offers.
 */
export function ffmpegPath(): string {
  const fromEnv = process.env.FFMPEG_BIN;
  if (fromEnv) return fromEnv;
  if (ffmpegStatic && existsSync(ffmpegStatic)) return ffmpegStatic;
  return 'ffmpeg';
}

/**
 * FFPROBE_BIN when set, else an ffprobe installed next to the chosen ffmpeg, else the one the
 * @ffprobe-installer package ships (ffmpeg-static has no ffprobe, and the Cloud Functions image
 * none either), else `ffprobe`.
 */
export function ffprobePath(): string {
  const fromEnv = process.env.FFPROBE_BIN;
  if (fromEnv) return fromEnv;
  const ffmpeg = ffmpegPath();
  if (ffmpeg !== basename(ffmpeg)) {
    const sibling = join(dirname(ffmpeg), basename(ffmpeg).replace(/ffmpeg/i, 'ffprobe'));
    if (sibling !== ffmpeg && existsSync(sibling)) return sibling;
  }
  if (existsSync(ffprobeInstaller.path)) return ffprobeInstaller.path;
  return 'ffprobe';
}
