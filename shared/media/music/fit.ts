import { join } from 'node:path';
import { SAMPLE_RATE } from '../audio-format';
import { MediaError } from '../errors';
import { LOUDNESS_METER, parseLoudnessSummary } from '../loudness';
import { runFfmpeg } from '../run-ffmpeg';
import type { MusicBed } from './bed';
import { MUSIC_REFERENCE_LUFS } from './styles';

/** A track shorter than the video repeats, each join blended over this long rather than cut. */
const CROSSFADE_SECONDS = 2;
/** Anything shorter is a sound, not a track: looped, it would stutter. */
const MIN_TRACK_SECONDS = 1;
/** Tracks come at any rate and layout; measuring and splicing happen in the mix's own format. */
const MIX_FORMAT = `aresample=${SAMPLE_RATE},aformat=channel_layouts=stereo`;
/** The pieces of a looped track are stored this much quieter: 24-bit FLAC has no room over full scale. */
const PIECE_HEADROOM_DB = 6;

/**
 * Turns a music track into a bed for a video of exactly `samples` samples (see bed.ts): played
 * as it is and cut when it lasts long enough; otherwise looped with crossfades, as two pieces
 * written into `dir`, its opening and the part that repeats (24-bit FLAC: compact, and no longer
 * than the track, however long the video). The bed's gain brings the track to
 * MUSIC_REFERENCE_LUFS, and the mix fades it in and out like generated music. One ffmpeg run
 * measures the track's length and loudness, a second one, for a looped track, cuts its pieces.
 */
export async function fitTrack(options: {
  sourcePath: string;
  samples: number;
  dir: string;
  signal?: AbortSignal;
}): Promise<MusicBed> {
  const { samples, signal } = options;
  const track = await measureTrack(options.sourcePath, signal);
  if (track.samples < MIN_TRACK_SECONDS * SAMPLE_RATE) {
    throw new Error(
      `the track lasts ${(track.samples / SAMPLE_RATE).toFixed(2)} s; a music track needs at least ${MIN_TRACK_SECONDS} s`,
    );
  }
  // The meter's floor: nothing rose above its absolute gate, so no gain could make this a bed.
  if (track.lufs <= -70) throw new Error('the track is silent');
  const gainDb = MUSIC_REFERENCE_LUFS - track.lufs;
  if (track.samples >= samples) return { head: options.sourcePath, gainDb };

  const head = join(options.dir, 'music-head.flac');
  const loop = join(options.dir, 'music-loop.flac');
  const piece = (label: string, path: string): string[] => [
    '-map',
    `[${label}]`,
    '-c:a',
    'flac',
    '-sample_fmt',
    's32',
    path,
  ];
  await runFfmpeg(
    [
      '-y',
      '-i',
      options.sourcePath,
      '-filter_complex',
      loopGraph(track.samples, `volume=-${PIECE_HEADROOM_DB}dB`),
      ...piece('opening', head),
      ...piece('repeat', loop),
    ],
    { signal },
  );
  return { head, loop, gainDb: gainDb + PIECE_HEADROOM_DB };
}

/** Length (in samples at SAMPLE_RATE) and integrated loudness of a track's first audio stream. */
async function measureTrack(path: string, signal?: AbortSignal): Promise<{ samples: number; lufs: number }> {
  let stderr: string;
  try {
    ({ stderr } = await runFfmpeg(
      [
        '-i',
        path,
        '-map',
        '0:a:0',
        '-af',
        `${MIX_FORMAT},${LOUDNESS_METER},astats=measure_perchannel=none:measure_overall=Number_of_samples`,
        '-f',
        'null',
        '-',
      ],
      { signal, logLevel: 'info' },
    ));
  } catch (err) {
    // ffmpeg's last line here would be advice about the -map option, not the reason.
    if (err instanceof MediaError && err.detail?.includes('matches no streams'))
      throw new Error('the file has no audio stream');
    throw err;
  }
  const samples = Number(/Number of samples:\s+(\d+)/.exec(stderr)?.[1]);
  if (!samples) throw new Error('ffmpeg reported no samples: the file holds no readable audio');
  return { samples, lufs: parseLoudnessSummary(stderr).integratedLufs };
}

/**
 * The pieces of a track looped with crossfades, as the pads `[opening]` and `[repeat]`: the
 * opening plays once, the repeat again and again after it. The crossfade keeps power, not
 * amplitude, constant: a track's end and its beginning are unrelated sounds, whose powers add. The
 * repeat is the track from the end of its opening crossfade to the start of its closing one,
 * followed by the blend of its last seconds into its first: the blend leads straight into the
 * next repeat's body, and only the very first pass plays the plain opening.
 */
function loopGraph(trackSamples: number, level: string): string {
  const fade = Math.min(Math.round(CROSSFADE_SECONDS * SAMPLE_RATE), Math.floor(trackSamples / 4));
  const bodyEnd = trackSamples - fade;
  return [
    `[0:a]${MIX_FORMAT},${level},asplit=4[first][body][tail][head]`,
    `[first]atrim=end_sample=${fade}[opening]`,
    `[body]atrim=start_sample=${fade}:end_sample=${bodyEnd},asetpts=N/SR/TB[middle]`,
    `[tail]atrim=start_sample=${bodyEnd},asetpts=N/SR/TB[out]`,
    `[head]atrim=end_sample=${fade}[in]`,
    `[out][in]acrossfade=ns=${fade}:c1=qsin:c2=qsin[seam]`,
    '[middle][seam]concat=n=2:v=0:a=1[repeat]',
  ].join(';\n');
}
