import { SAMPLE_RATE } from './audio-format';
import { pictureSeconds, type MediaFacts } from './probe';
import { runFfmpeg } from './run-ffmpeg';

/** AAC encoding lifts true peaks by a few tenths of a dB: normalize under the ceiling by this much. */
export const ENCODER_PEAK_MARGIN_DB = 0.5;

const COPYABLE_CODECS = new Set(['h264', 'hevc']);
/** Containers whose H.264/HEVC streams an MP4 can carry as they are. */
const COPYABLE_CONTAINERS = /(^|,)(mov|mp4|matroska)(,|$)/;

/** Whether the picture can be kept bit for bit: an MP4 can carry it and players read it. */
export function canCopyVideo(facts: MediaFacts): boolean {
  return !!facts.video && COPYABLE_CODECS.has(facts.video.codec) && COPYABLE_CONTAINERS.test(facts.container);
}

export interface MuxOptions {
  inputPath: string;
  input: MediaFacts;
  /** The mixed audio (WAV), exactly as long as the picture. */
  audioPath: string;
  /** Audio filters for the second loudness pass. */
  audioFilter: string;
  outputPath: string;
  signal?: AbortSignal;
  onProgress?: (fraction: number) => void;
}

/**
 * Final pass: the input's first video stream (copied when possible, else H.264) with the mix,
 * normalized on the way and encoded to AAC 48 kHz stereo, into an MP4 whose index comes first so
 * playback starts before the download ends. No -t or -shortest: the audio is already exactly the
 * picture's length, and cutting copied video at a time could drop its last frames.
 */
export async function mux(options: MuxOptions): Promise<{ videoCopied: boolean }> {
  const video = options.input.video;
  const videoCopied = canCopyVideo(options.input);
  const videoArgs = videoCopied
    ? ['-c:v', 'copy', ...(video?.codec === 'hevc' ? ['-tag:v', 'hvc1'] : [])]
    : [
        '-c:v',
        'libx264',
        '-preset',
        'veryfast',
        '-crf',
        '20',
        '-pix_fmt',
        'yuv420p',
        // 4:2:0 needs even dimensions; an odd edge loses one pixel rather than failing the job.
        ...(video && (video.width % 2 || video.height % 2) ? ['-vf', 'crop=trunc(iw/2)*2:trunc(ih/2)*2'] : []),
      ];
  const seconds = pictureSeconds(options.input);
  await runFfmpeg(
    [
      // Re-encoding: keep the rotation as metadata (as a copy would) rather than turning the pixels.
      ...(videoCopied ? [] : ['-noautorotate']),
      '-i',
      options.inputPath,
      '-i',
      options.audioPath,
      // V, not v: the first real picture, never a cover-art image stored as a video stream.
      '-map',
      '0:V:0',
      '-map',
      '1:a:0',
      ...videoArgs,
      '-af',
      options.audioFilter,
      '-c:a',
      'aac',
      '-b:a',
      '192k',
      '-ar',
      String(SAMPLE_RATE),
      '-ac',
      '2',
      '-movflags',
      '+faststart',
      '-f',
      'mp4',
      '-y',
      options.outputPath,
    ],
    {
      signal: options.signal,
      ...(options.onProgress ? { onProgress: (at: number) => options.onProgress?.(at / seconds) } : {}),
    },
  );
  return { videoCopied };
}
