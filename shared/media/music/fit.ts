import { SAMPLE_RATE } from '../audio-format';
import { MediaError } from '../errors';
import { LOUDNESS_METER, parseLoudnessSummary } from '../loudness';
import { runFfmpeg } from '../run-ffmpeg';
import { musicFades } from './fades';
import { MUSIC_REFERENCE_LUFS } from './styles';

/** A track shorter than the video repeats, each join blended over this long rather than cut. */
const CROSSFADE_SECONDS = 2;
/** Anything shorter is a sound, not a track: looped, it would stutter. */
const MIN_TRACK_SECONDS = 1;
/** Tracks come at any rate and layout; measuring and splicing happen in the mix's own format. */
const MIX_FORMAT = `aresample=${SAMPLE_RATE},aformat=channel_layouts=stereo`;

/**
 * Turns a music track into a bed for a video of exactly `samples` samples: 48 kHz stereo, looped
 * with crossfades when the track is shorter, cut when it is longer, faded in and out like
 * generated music, and brought to MUSIC_REFERENCE_LUFS so the mix can set it under the voice with
 * the same arithmetic. Written as 32-bit float WAV: the loudness gain can lift a quiet track's
 * peaks past full scale, and the mix's limiter is what brings them back. Two ffmpeg runs: one
 * measures the track's length and loudness, the other builds the bed.
 */
export async function fitTrack(options: {
  sourcePath: string;
  samples: number;
  outPath: string;
  signal?: AbortSignal;
}): Promise<void> {
  const { samples, signal } = options;
  const track = await measureTrack(options.sourcePath, signal);
  if (track.samples < MIN_TRACK_SECONDS * SAMPLE_RATE) {
    throw new Error(
      `the track lasts ${(track.samples / SAMPLE_RATE).toFixed(2)} s; a music track needs at least ${MIN_TRACK_SECONDS} s`,
    );
  }
  // The meter's floor: nothing rose above its absolute gate, so no gain could make this a bed.
  if (track.lufs <= -70) throw new Error('the track is silent');

  const finish = [
    ...musicFades(samples, SAMPLE_RATE),
    `volume=${(MUSIC_REFERENCE_LUFS - track.lufs).toFixed(2)}dB`,
  ].join(',');
  const graph =
    track.samples >= samples
      ? `[0:a]${MIX_FORMAT},atrim=end_sample=${samples},${finish}[music]`
      : `${loopGraph(track.samples, 'looped')};\n[looped]atrim=end_sample=${samples},${finish}[music]`;
  await runFfmpeg(
    ['-i', options.sourcePath, '-filter_complex', graph, '-map', '[music]', '-c:a', 'pcm_f32le', '-y', options.outPath],
    { signal },
  );
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
 * The track repeated without end, each repeat joined to the last by a crossfade, as the pad
 * `[label]`. The crossfade keeps power, not amplitude, constant: a track's end and its beginning
 * are unrelated sounds, whose powers add. One repeat is the track from the end of its opening crossfade to the start of
 * its closing one, followed by the blend of its last seconds into its first: the blend leads
 * straight into the next repeat's body, and only the very first pass plays the plain opening.
 * Only that one repeat is held in memory, however often it plays.
 */
function loopGraph(trackSamples: number, label: string): string {
  const fade = Math.min(Math.round(CROSSFADE_SECONDS * SAMPLE_RATE), Math.floor(trackSamples / 4));
  const bodyEnd = trackSamples - fade;
  return [
    `[0:a]${MIX_FORMAT},asplit=4[opening][body][tail][head]`,
    `[opening]atrim=end_sample=${fade}[first]`,
    `[body]atrim=start_sample=${fade}:end_sample=${bodyEnd},asetpts=N/SR/TB[middle]`,
    `[tail]atrim=start_sample=${bodyEnd},asetpts=N/SR/TB[out]`,
    `[head]atrim=end_sample=${fade}[in]`,
    `[out][in]acrossfade=ns=${fade}:c1=qsin:c2=qsin[seam]`,
    `[middle][seam]concat=n=2:v=0:a=1,aloop=loop=-1:size=${bodyEnd}[repeat]`,
    `[first][repeat]concat=n=2:v=0:a=1,asetpts=N/SR/TB[${label}]`,
  ].join(';\n');
}
