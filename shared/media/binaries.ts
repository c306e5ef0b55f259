import { existsSync } from 'node:fs';
import ffmpegStatic from 'ffmpeg-static';

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
