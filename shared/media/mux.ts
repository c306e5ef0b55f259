import { AAC_ENCODER, ENCODER_INPUT, SAMPLE_RATE } from './audio-format';
import { streamLanguage } from './languages';
import { loudnessMeter, parseLoudnessSummary, type LoudnessFacts } from './loudness';
import { mixArgs, type MixSpec } from './mix';
import { PIPED_PCM, runPiped, type PipedRun } from './piped';
import { pictureSeconds, type MediaFacts } from './probe';

/** AAC encoding lifts true peaks by a few tenths of a dB: normalize under the ceiling by this much. */
export const ENCODER_PEAK_MARGIN_DB = 0.5;
/**
 * ffmpeg's AAC encoder starts with this many samples of its own (its `initial_padding`). Encoding
 * into the MP4, the muxer would cut them with an edit list; encoded apart and carried as ADTS,
 * which does not say so, they are cut by starting the stream this much before the picture.
 */
const AAC_PRIMING_SAMPLES = 1024;

const COPYABLE_CODECS = new Set(['h264', 'hevc']);
/** Containers whose H.264/HEVC streams an MP4 can carry as they are. */
const COPYABLE_CONTAINERS = /(^|,)(mov|mp4|matroska)(,|$)/;

/**
 * Burned captions, in the units of the ASS script ffmpeg makes of an SRT (288 lines high, whatever
 * the picture): white text 16 high (some 5.5 % of the picture's height) with a dark outline and
 * shadow, 14 up from the bottom (about 5 %), centred.
 */
const BURNED_CAPTION_STYLE = [
  'FontName=Sans',
  'FontSize=16',
  'PrimaryColour=&H00FFFFFF',
  'OutlineColour=&H00000000',
  'BackColour=&H80000000',
  'BorderStyle=1',
  'Outline=1.2',
  'Shadow=0.6',
  'Alignment=2',
  'MarginV=14',
].join(',');

/** Whether the picture can be kept bit for bit: an MP4 can carry it and players read it. */
export function canCopyVideo(facts: MediaFacts): boolean {
  return !!facts.video && COPYABLE_CODECS.has(facts.video.codec) && COPYABLE_CONTAINERS.test(facts.container);
}

/** One audio track of the output: its mix, and the filters that normalize it (limitInGraph, linearNormalization). */
export interface MuxTrack {
  mix: MixSpec;
  filters: readonly string[];
  /** One of LANGUAGES, tagged on the stream as ISO 639-2. */
  language: string;
}

/** An SRT file and the language it is in. */
export interface MuxCaptions {
  path: string;
  language: string;
}

export interface MuxOptions {
  inputPath: string;
  input: MediaFacts;
  /** In order: the first is the default track. */
  tracks: readonly MuxTrack[];
  /** Muxed as `mov_text` streams. */
  softCaptions: readonly MuxCaptions[];
  /** Rendered into the picture, which is then re-encoded. */
  burnedCaptions?: string;
  outputPath: string;
  signal?: AbortSignal;
  onProgress?: (fraction: number) => void;
}

export interface MuxResult {
  videoCopied: boolean;
  /** Per track, in order: the loudness of its stream as delivered, after AAC encoding. */
  loudness: LoudnessFacts[];
}

/**
 * The run that writes the output, the one run that reads the picture: the input's first video
 * stream, copied when possible (else H.264, as when captions are burned into it), and every
 * track's mix, each tagged with its language, the first the default; soft captions as
 * language-tagged `mov_text` streams. An MP4 whose index comes first, so playback starts before
 * the download ends. Each mix is made once more by a run of its own with its normalizing filters
 * and encoded to AAC 48 kHz stereo by another (see piped.ts): the tracks' encoders, the slowest
 * part, share both cores, and the picture is copied beside them. The same run decodes each
 * encoded stream as it copies it into the file and meters it, so the delivered loudness is known
 * when the file is, without reading it again. No -t or -shortest: each mix is exactly the
 * picture's length, and cutting copied video at a time could drop its last frames.
 */
export async function mux(options: MuxOptions): Promise<MuxResult> {
  const video = options.input.video;
  const videoCopied = canCopyVideo(options.input) && !options.burnedCaptions;
  const { tracks, softCaptions } = options;
  let picture: string[];
  if (videoCopied) {
    // V, not v: the first real picture, never a cover-art image stored as a video stream.
    picture = ['-map', '0:V:0', '-c:v', 'copy', ...(video?.codec === 'hevc' ? ['-tag:v', 'hvc1'] : [])];
  } else {
    const filters = [
      // 4:2:0 needs even dimensions; an odd edge loses one pixel rather than failing the job.
      ...(video && (video.width % 2 || video.height % 2) ? ['crop=trunc(iw/2)*2:trunc(ih/2)*2'] : []),
      ...(options.burnedCaptions
        ? [`subtitles=filename=${filterValue(options.burnedCaptions)}:force_style=${filterValue(BURNED_CAPTION_STYLE)}`]
        : []),
    ];
    picture = [
      ...['-map', '0:V:0', ...(filters.length ? ['-filter:v', filters.join(',')] : [])],
      ...['-c:v', 'libx264', '-preset', 'veryfast', '-crf', '20', '-pix_fmt', 'yuv420p'],
    ];
  }
  const firstCaptions = 1 + tracks.length;
  const seconds = pictureSeconds(options.input);
  const encoder = [...PIPED_PCM, '-i', 'pipe:3', '-af', ENCODER_INPUT, ...AAC_ENCODER, '-f', 'adts', 'pipe:1'];
  const priming = (-AAC_PRIMING_SAMPLES / SAMPLE_RATE).toFixed(6);
  // Each track's mix, then its encoder, then the mux.
  const runs: PipedRun[] = tracks.flatMap((track, i) => [
    { args: mixArgs(track.mix, track.filters) },
    { args: encoder, reads: [2 * i] },
  ]);
  const encoders = tracks.map((_, i) => 2 * i + 1);
  const meters = tracks.map((_, i) => `[${1 + i}:a:0]${loudnessMeter(`track${i}`)}[meter${i}]`);
  const { stderr } = await runPiped(
    [
      ...runs,
      {
        reads: encoders,
        args: [
          // A global option: before the files, where every ffmpeg version takes it.
          ...['-filter_complex', meters.join(';')],
          // Re-encoding a picture as it is: keep the rotation as metadata (as a copy would) rather
          // than turning the pixels. Burning captions turns them, so that the text stands upright.
          ...(!videoCopied && !options.burnedCaptions ? ['-noautorotate'] : []),
          '-i',
          options.inputPath,
          ...tracks.flatMap((_, i) => ['-itsoffset', priming, '-f', 'aac', '-i', `pipe:${3 + i}`]),
          ...softCaptions.flatMap((captions) => ['-i', captions.path]),
          ...picture,
          ...tracks.flatMap((track, i) => [
            ...['-map', `${1 + i}:a:0`, `-metadata:s:a:${i}`, `language=${streamLanguage(track.language)}`],
            ...[`-disposition:a:${i}`, i === 0 ? 'default' : '0'],
          ]),
          '-c:a',
          'copy',
          ...softCaptions.flatMap((captions, i) => [
            ...[
              '-map',
              `${firstCaptions + i}:s:0`,
              `-metadata:s:s:${i}`,
              `language=${streamLanguage(captions.language)}`,
            ],
          ]),
          ...(softCaptions.length ? ['-c:s', 'mov_text'] : []),
          ...['-movflags', '+faststart', '-f', 'mp4', '-y', options.outputPath],
          ...tracks.flatMap((_, i) => ['-map', `[meter${i}]`, '-f', 'null', '-']),
        ],
      },
    ],
    {
      signal: options.signal,
      logLevel: 'info',
      ...(options.onProgress ? { onProgress: (at: number) => options.onProgress?.(at / seconds) } : {}),
    },
  );
  return { videoCopied, loudness: tracks.map((_, i) => parseLoudnessSummary(stderr, `track${i}`)) };
}

/**
 * Any text as one filter option's value: escaped for the option parser (`\`, `'`, `:`), then for
 * the filtergraph around it (`\`, `'`, `[`, `]`, `,`, `;`), as ffmpeg's filtergraph escaping rules ask.
 */
function filterValue(text: string): string {
  return text.replace(/[\\':]/g, '\\$&').replace(/[\\'[\],;]/g, '\\$&');
}
