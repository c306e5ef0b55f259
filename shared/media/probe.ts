import { stat } from 'node:fs/promises';
import { MediaError } from './errors';
import { runFfprobe } from './run-ffprobe';

export interface VideoFacts {
  codec: string;
  width: number;
  height: number;
  fps: number;
  /** Display rotation in degrees, 0 to 359, as the container's display matrix asks. */
  rotation: number;
  /** The video stream's own duration when the container states one. */
  durationSeconds?: number;
}

export interface AudioFacts {
  codec: string;
  sampleRate: number;
  channels: number;
}

export interface AudioStreamFacts extends AudioFacts {
  /** The stream's language tag (ISO 639-2), `und` when it has none. */
  language: string;
}

export interface MediaFacts {
  durationSeconds: number;
  /** ffprobe's format name, e.g. `mov,mp4,m4a,3gp,3g2,mj2` or `matroska,webm`. */
  container: string;
  sizeBytes: number;
  video?: VideoFacts;
  /** The first audio stream: `audioStreams[0]`. */
  audio?: AudioFacts;
  /** Every audio stream, in order. */
  audioStreams: AudioStreamFacts[];
}

interface ProbeStream {
  codec_type?: string;
  codec_name?: string;
  width?: number;
  height?: number;
  avg_frame_rate?: string;
  r_frame_rate?: string;
  duration?: string;
  sample_rate?: string;
  channels?: number;
  disposition?: { attached_pic?: number };
  tags?: { rotate?: string; DURATION?: string; language?: string };
  side_data_list?: { rotation?: number }[];
}

interface ProbeOutput {
  format?: { format_name?: string; duration?: string; size?: string };
  streams?: ProbeStream[];
}

/** Beyond 8K a picture is an attack or an accident; under 16 pixels it is no picture at all. */
const MAX_DIMENSION = 8192;
const MIN_DIMENSION = 16;

/** Demuxers that read single pictures: a still image is not a video, whatever its stream says. */
const IMAGE_FORMAT = /(^|,)(image2|[a-z0-9]+_pipe)(,|$)/;

/**
 * Facts of any media file, audio-only included; `durationSeconds` is 0 when the file states none.
 * Rejects with `corrupt_media`, and ffprobe's reason, when ffprobe cannot read it.
 */
export async function inspect(path: string, signal?: AbortSignal): Promise<MediaFacts> {
  let stdout: string;
  try {
    ({ stdout } = await runFfprobe(['-print_format', 'json', '-show_format', '-show_streams', path], { signal }));
  } catch (err) {
    // A failure with ffprobe's own stderr is about the file; one without (ffprobe missing) is not.
    if (err instanceof MediaError && err.code === 'ffmpeg_failed' && err.detail !== undefined) {
      throw new MediaError('corrupt_media', `unreadable media: ${reason(err.detail, path)}`, err.detail);
    }
    throw err;
  }

  const parsed = JSON.parse(stdout) as ProbeOutput;
  const streams = parsed.streams ?? [];
  const video = streams.find((s) => s.codec_type === 'video' && s.disposition?.attached_pic !== 1);
  const audio = streams.find((s) => s.codec_type === 'audio');
  const audioStreams = streams.filter((s) => s.codec_type === 'audio').map(audioFacts);
  return {
    durationSeconds: seconds(parsed.format?.duration) ?? streamSeconds(video) ?? streamSeconds(audio) ?? 0,
    container: parsed.format?.format_name ?? '',
    sizeBytes: Number(parsed.format?.size) || (await stat(path)).size,
    video: video && {
      codec: video.codec_name ?? '',
      width: video.width ?? 0,
      height: video.height ?? 0,
      fps: rate(video.avg_frame_rate) ?? rate(video.r_frame_rate) ?? 0,
      rotation: rotation(video),
      durationSeconds: streamSeconds(video),
    },
    audio: audio && {
      codec: audio.codec_name ?? '',
      sampleRate: Number(audio.sample_rate) || 0,
      channels: audio.channels ?? 0,
    },
    audioStreams,
  };
}

function audioFacts(stream: ProbeStream): AudioStreamFacts {
  const { codec_name: codec = '', sample_rate: rate, channels = 0, tags } = stream;
  return { codec, sampleRate: Number(rate) || 0, channels, language: tags?.language ?? 'und' };
}

/**
 * Facts of a video to dub, or why it cannot be: `not_a_video` when there is no moving picture
 * (audio files, cover art, still images), `unsupported_media` when this ffmpeg build does not know
 * the picture's codec, `corrupt_media` when ffprobe cannot read the file or it states no duration.
 */
export async function probe(path: string, signal?: AbortSignal): Promise<MediaFacts> {
  const facts = await inspect(path, signal);
  if (!facts.video || IMAGE_FORMAT.test(facts.container)) {
    throw new MediaError(
      'not_a_video',
      facts.audio ? 'the file has sound but no video' : 'the file has no video stream',
    );
  }
  if (!facts.video.codec || !facts.video.width || !facts.video.height) {
    throw new MediaError('unsupported_media', `unsupported video codec ${facts.video.codec || '(unknown)'}`);
  }
  if (!facts.durationSeconds) {
    throw new MediaError('corrupt_media', 'the file states no duration: it is damaged or not a finished recording');
  }
  const { width, height } = facts.video;
  if (Math.max(width, height) > MAX_DIMENSION || Math.min(width, height) < MIN_DIMENSION) {
    throw new MediaError(
      'absurd_dimensions',
      `the picture is ${width}x${height}; sides from ${MIN_DIMENSION} to ${MAX_DIMENSION} pixels are supported`,
    );
  }
  return facts;
}

/** How long the picture lasts: the video stream's own length when stated, else the file's. */
export function pictureSeconds(facts: MediaFacts): number {
  return facts.video?.durationSeconds ?? facts.durationSeconds;
}

/** A positive number of seconds, or undefined for ffprobe's "N/A", zero or garbage. */
function seconds(value: string | undefined): number | undefined {
  const n = Number(value);
  return Number.isFinite(n) && n > 0 ? n : undefined;
}

/** A stream's own duration; Matroska states it only as a tag, "HH:MM:SS.nnnnnnnnn". */
function streamSeconds(stream: ProbeStream | undefined): number | undefined {
  const tag = /^(\d+):(\d+):(\d+(?:\.\d+)?)$/.exec(stream?.tags?.DURATION ?? '');
  const fromTag = tag ? Number(tag[1]) * 3600 + Number(tag[2]) * 60 + Number(tag[3]) : undefined;
  return seconds(stream?.duration) ?? seconds(fromTag?.toString());
}

function rate(value: string | undefined): number | undefined {
  const [num, den] = (value ?? '').split('/').map(Number);
  if (!num || !den) return undefined;
  return num / den;
}

function rotation(stream: ProbeStream): number {
  const fromMatrix = stream.side_data_list?.find((d) => typeof d.rotation === 'number')?.rotation;
  const degrees = fromMatrix ?? Number(stream.tags?.rotate ?? 0);
  return ((Math.round(degrees) % 360) + 360) % 360;
}

/** ffprobe's reason without the file's path, which is ours and not the partner's business. */
function reason(detail: string, path: string): string {
  const lines = detail
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  return (lines[lines.length - 1] ?? 'unknown error').replace(`${path}: `, '');
}
