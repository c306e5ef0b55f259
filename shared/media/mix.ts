import { SAMPLE_RATE } from './audio-format';
import { GraphInputs } from './graph-inputs';
import { LOUDNESS_METER, METER_ARGS, parseLoudnessSummary, type LoudnessFacts } from './loudness';
import { PIPED_PCM, runPiped } from './piped';
import { bedGraph, bedInputs, type MusicBed } from './music/bed';
import { MUSIC_REFERENCE_LUFS } from './music/styles';
import { originalSoundChain } from './original-sound';
import type { EffectsPreset } from './presets';
import { runFfmpeg } from './run-ffmpeg';

/** Loudness (mono) a voice is brought to before the preset's chain, whose thresholds assume it. */
const VOICE_CHAIN_INPUT_LUFS = -20;
/** Loudness (stereo) of the processed voice in the mix: the level everything else is set against. */
const VOICE_MIX_LUFS = -16;
/** A mono signal played on both channels measures this much louder (BS.1770 sums channel power). */
const DUAL_MONO_GAIN_DB = 10 * Math.log10(2);
/** Room the limiter leaves for the second pass's gain estimate and for inter-sample peaks. */
const LIMITER_HEADROOM_DB = 1.5;
/**
 * The processed voice is stored this much under its level, and the mix takes it back: 24-bit FLAC
 * has no room above full scale, and the staging gain can take peaks past it.
 */
const VOICE_FILE_HEADROOM_DB = 24;

/**
 * Voice pass: resample to 48 kHz mono, bring to VOICE_CHAIN_INPUT_LUFS, run the preset's voice
 * chain, and measure the result (the mix needs its exact level). A run of its own costs little (a
 * mono voice) and keeps the mix's arithmetic exact. Written as 24-bit FLAC, which stores the
 * silences of a voice that spans the whole video in next to nothing.
 */
export async function processVoice(options: {
  rawPath: string;
  rawLufs: number;
  outPath: string;
  preset: EffectsPreset;
  signal?: AbortSignal;
}): Promise<LoudnessFacts> {
  const filters = [
    `aresample=${SAMPLE_RATE}`,
    'aformat=channel_layouts=mono',
    `volume=${db(VOICE_CHAIN_INPUT_LUFS - options.rawLufs)}`,
    ...options.preset.voiceChain,
    LOUDNESS_METER,
    `volume=-${VOICE_FILE_HEADROOM_DB}dB`,
  ];
  const { stderr } = await runFfmpeg(
    ['-i', options.rawPath, '-af', filters.join(','), '-c:a', 'flac', '-sample_fmt', 's32', '-y', options.outPath],
    { signal: options.signal, logLevel: 'info' },
  );
  return parseLoudnessSummary(stderr);
}

/** The processed voice and where it goes in the mix. */
export interface MixVoice {
  /** As processVoice() writes it. */
  path: string;
  /** Measured loudness of the processed voice (mono), as processVoice() returns it. */
  lufs: number;
  seconds: number;
  leadInSeconds: number;
}

/** The input video's own sound, kept under the voice. */
export interface OriginalSound {
  /** The input video: its first audio stream is read. */
  path: string;
  /** Its loudness as the mix takes it (see original-sound.ts). */
  lufs: number;
  /** Ducked by the voice with the music's sidechain, or kept at its level throughout. */
  ducked: boolean;
}

/** One track's mix: what goes in, and the loudness it will be normalized to. */
export interface MixSpec {
  /** Null for music alone (a still with no voice-over). */
  voice: MixVoice | null;
  /** Length of the mix in samples at SAMPLE_RATE: exactly the video's. */
  samples: number;
  /** Null for no music bed. */
  music: MusicBed | null;
  /** Null when the input's own sound is replaced. */
  original: OriginalSound | null;
  preset: EffectsPreset;
  /** Loudness and true-peak ceiling the delivered mix will be normalized to. */
  target: { lufs: number; truePeakDbtp: number };
}

/** A continuous layer under the voice: its loudness in the mix, and whether the voice ducks it. */
interface Bed {
  label: string;
  lufs: number;
  ducked: boolean;
}

/**
 * The run that makes the mix, through `filters`, and writes it to its stdout as PIPED_PCM (see
 * piped.ts): the music bed played and set at the preset's bed level, the input's own sound when
 * it is kept, the music (and the original sound when asked) ducked with the voice as sidechain,
 * the sum limited. The graph has no state beyond its files, so it makes the same samples every
 * time it runs: the mix is measured (measureMix) and then made once more for the mux, never
 * written to a file. The limiter's ceiling sits far enough under the target's true peak that one
 * constant gain can then reach the target.
 */
export function mixArgs(spec: MixSpec, filters: readonly string[]): string[] {
  const inputs = new GraphInputs();
  const graph = [...mixGraph(spec, inputs, 'mix'), `[mix]${filters.join(',') || 'anull'}[out]`];
  return [
    ...inputs.args(),
    ...['-filter_complex', [...inputs.graph(), ...graph].join(';')],
    ...['-map', '[out]', ...PIPED_PCM, 'pipe:1'],
  ];
}

/** The mix as filtergraph lines ending in the pad `[label]`, reading its files through `inputs`. */
function mixGraph(spec: MixSpec, inputs: GraphInputs, label: string): string[] {
  const { preset, samples, voice, music, original } = spec;
  if (!voice && !music && !original) throw new RangeError('a mix needs a voice, music or the original sound');
  const name = (part: string): string => `${label}_${part}`;
  const bedLufs = VOICE_MIX_LUFS + preset.musicBedDb;
  const voicePad = voice ? inputs.use({ path: voice.path }) : '';
  const graph: string[] = [];
  const beds: Bed[] = [];

  if (music) {
    const pads = bedInputs(music).map((input) => inputs.use(input));
    graph.push(...bedGraph(music, pads, samples, name('music')));
    const level = [...preset.musicChain, `volume=${db(bedLufs - MUSIC_REFERENCE_LUFS)}`];
    graph.push(`[${name('music')}]${level.join(',')}[${name('bed')}]`);
    beds.push({ label: name('bed'), lufs: bedLufs, ducked: true });
  }
  if (original) {
    // Kept at its own level, brought down to the music's bed level when louder, never lifted: a
    // quiet ambience stays quiet rather than having its noise raised to the music's level.
    const gain = Math.min(0, bedLufs - original.lufs);
    graph.push(
      `[${inputs.use({ path: original.path })}]${originalSoundChain(samples)},volume=${db(gain)}[${name('original')}]`,
    );
    beds.push({ label: name('original'), lufs: original.lufs + gain, ducked: original.ducked });
  }

  const expectedGain = spec.target.lufs - expectedLoudness(voice?.seconds ?? 0, samples / SAMPLE_RATE, beds);
  const ceilingDb = Math.min(-1, spec.target.truePeakDbtp - expectedGain - LIMITER_HEADROOM_DB);
  const ducked = voice ? beds.filter((b) => b.ducked).map((b) => b.label) : [];
  const layers = voice ? [name('voice'), ...(ducked.length ? [name('ducked')] : [])] : [];
  layers.push(...beds.filter((b) => !ducked.includes(b.label)).map((b) => b.label));
  if (voice) graph.push(...placeVoice(voicePad, voice, samples, ducked, preset, name));
  // A preset's reverb or echo rings on past the end: the mix is cut to the picture's length.
  graph.push(
    `${layers.map((l) => `[${l}]`).join('')}${layers.length > 1 ? `${sum(layers.length)},` : ''}` +
      `atrim=end_sample=${samples},` +
      `alimiter=limit=${10 ** (ceilingDb / 20)}:attack=5:release=50:level=0:latency=1[${label}]`,
  );
  return graph;
}

/**
 * Runs the mix through `filters` into the meter, writing nothing: the figures the normalization
 * needs, or the limiter's next round (see loudness.ts limitInGraph). The meter runs apart, so the
 * mix and its true-peak oversampling each get a core.
 */
export async function measureMix(
  spec: MixSpec,
  filters: readonly string[],
  options: { signal?: AbortSignal; onProgress?: (fraction: number) => void } = {},
): Promise<LoudnessFacts> {
  const seconds = spec.samples / SAMPLE_RATE;
  const { stderr } = await runPiped(
    [{ args: mixArgs(spec, filters) }, { args: [...PIPED_PCM, '-i', 'pipe:3', ...METER_ARGS], reads: [0] }],
    {
      signal: options.signal,
      logLevel: 'info',
      ...(options.onProgress ? { onProgress: (at: number) => options.onProgress?.(at / seconds) } : {}),
    },
  );
  return parseLoudnessSummary(stderr);
}

/**
 * The voice placed on both channels as `[<label>_voice]`; when there are beds to duck, a copy of it
 * keys the sidechain that ducks their sum into `[<label>_ducked]` (the compressor reads only its key, so one
 * sidechain on the sum ducks each bed as it would alone).
 */
function placeVoice(
  source: string,
  voice: MixVoice,
  samples: number,
  ducked: string[],
  preset: EffectsPreset,
  name: (part: string) => string,
): string[] {
  const voiceGain = VOICE_MIX_LUFS - (voice.lufs + DUAL_MONO_GAIN_DB) + VOICE_FILE_HEADROOM_DB;
  const leadIn = Math.round(voice.leadInSeconds * SAMPLE_RATE);
  const placed =
    `[${source}]volume=${db(voiceGain)},adelay=delays=${leadIn}S:all=1,apad=whole_len=${samples},` +
    `atrim=end_sample=${samples},pan=stereo|c0=c0|c1=c0`;
  if (!ducked.length) return [`${placed}[${name('voice')}]`];
  const { threshold, ratio, attackMs, releaseMs } = preset.duck;
  const under = ducked.length > 1 ? name('under') : ducked[0];
  return [
    `${placed},asplit=2[${name('voice')}][${name('key')}]`,
    ...(ducked.length > 1 ? [`${ducked.map((l) => `[${l}]`).join('')}${sum(ducked.length)}[${under}]`] : []),
    `[${under}][${name('key')}]sidechaincompress=threshold=${threshold}:ratio=${ratio}:attack=${attackMs}:release=${releaseMs}[${name('ducked')}]`,
  ];
}

/** Layers summed as they are: their levels were set for the sum. */
function sum(inputs: number): string {
  return `amix=inputs=${inputs}:normalize=0:duration=longest`;
}

/**
 * The mix's integrated loudness, foreseen: speech at VOICE_MIX_LUFS for as long as it lasts, with
 * the beds it does not duck under it, and every bed the rest of the time, power-averaged. Beds
 * 20 LU or more under the voice are left out (alone they fall under the measurement's relative
 * gate, and under the voice they add nothing), and so is silence. The ducked beds under speech add
 * little, so this lands within a dB or so of the measurement, which is what the limiter's headroom
 * allows for.
 */
function expectedLoudness(voiceSeconds: number, seconds: number, beds: Bed[]): number {
  const power = (lufs: number): number => 10 ** (lufs / 10);
  const heard = beds.filter((b) => b.lufs > VOICE_MIX_LUFS - 20);
  const under = heard.filter((b) => !b.ducked).reduce((total, b) => total + power(b.lufs), 0);
  const alone = heard.reduce((total, b) => total + power(b.lufs), 0);
  const speech = Math.min(voiceSeconds, seconds);
  const energy = speech * (power(VOICE_MIX_LUFS) + under) + (seconds - speech) * alone;
  return 10 * Math.log10(energy / (alone > 0 ? seconds : speech));
}

function db(value: number): string {
  return `${value.toFixed(2)}dB`;
}
