import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MediaError } from './errors';
import { inspect } from './probe';
import { runFfmpeg } from './run-ffmpeg';
import { STILL_RESOLUTIONS, type StillResolution } from './still-resolutions';

const FPS = 25;
/** One encoded group of pictures, repeated: a still needs no more than one to be encoded. */
const SEGMENT_SECONDS = 2;
const MAX_IMAGE_SIDE = 16384;
const IMAGE_CODECS = new Set(['png', 'mjpeg', 'webp', 'bmp', 'tiff', 'gif']);

/**
 * An H.264 video of `durationSeconds` showing the image, fitted into the frame and letterboxed.
 * A still is the same picture every frame, so one closed group of pictures is encoded (x264 tuned
 * for still images) and repeated by stream copy: the cost is that of two seconds of video,
 * whatever the duration, and the cut at the end is exact to the frame.
 */
export async function renderStill(options: {
  imagePath: string;
  workDir: string;
  outputPath: string;
  durationSeconds: number;
  resolution: StillResolution;
  signal?: AbortSignal;
}): Promise<void> {
  const { signal } = options;
  const image = await inspect(options.imagePath, signal).catch((err: unknown) => {
    throw err instanceof MediaError
      ? new MediaError('not_an_image', `the file is not a readable image: ${err.message}`, err.detail)
      : err;
  });
  if (!image.video || !IMAGE_CODECS.has(image.video.codec)) {
    throw new MediaError('not_an_image', 'the file is not a PNG, JPEG, WebP, BMP, TIFF or GIF image');
  }
  const { width, height } = image.video;
  if (!width || !height) throw new MediaError('not_an_image', 'the file is not a readable image');
  if (Math.max(width, height) > MAX_IMAGE_SIDE || Math.min(width, height) < 16) {
    throw new MediaError(
      'absurd_dimensions',
      `the image is ${width}x${height}; sides from 16 to ${MAX_IMAGE_SIDE} pixels are supported`,
    );
  }
  const frame = STILL_RESOLUTIONS[options.resolution];
  const scratch = await mkdtemp(join(options.workDir, 'still-'));
  try {
    const segment = join(scratch, 'segment.ts');
    const fit =
      `scale=${frame.width}:${frame.height}:force_original_aspect_ratio=decrease,` +
      `pad=${frame.width}:${frame.height}:(ow-iw)/2:(oh-ih)/2,setsar=1,format=yuv420p`;
    // Decoded and scaled once, then repeated as frames by the loop filter.
    await runFfmpeg(
      [
        '-i',
        options.imagePath,
        '-vf',
        `${fit},loop=loop=-1:size=1,fps=${FPS}`,
        '-frames:v',
        String(FPS * SEGMENT_SECONDS),
        '-c:v',
        'libx264',
        '-tune',
        'stillimage',
        '-preset',
        'veryfast',
        '-crf',
        '20',
        '-bf',
        '0',
        '-g',
        String(FPS * SEGMENT_SECONDS),
        '-keyint_min',
        String(FPS * SEGMENT_SECONDS),
        '-sc_threshold',
        '0',
        '-f',
        'mpegts',
        '-y',
        segment,
      ],
      { signal },
    );
    const list = join(scratch, 'segments.txt');
    const copies = Math.ceil(options.durationSeconds / SEGMENT_SECONDS);
    await writeFile(list, Array.from({ length: copies }, () => "file 'segment.ts'\n").join(''));
    await runFfmpeg(
      // Cut by frame count: a time cut lands a frame or two late on the segments' timestamps.
      [
        '-f',
        'concat',
        '-safe',
        '0',
        '-i',
        list,
        '-c',
        'copy',
        '-frames:v',
        String(Math.round(options.durationSeconds * FPS)),
        '-movflags',
        '+faststart',
        '-y',
        options.outputPath,
      ],
      { signal },
    );
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
