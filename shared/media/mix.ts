import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SAMPLE_RATE } from './audio-format';
import { LOUDNESS_METER, parseLoudnessSummary, type LoudnessMeasurement } from './loudness';
import { musicGraph } from './music/generate';
import { MUSIC_REFERENCE_LUFS, type MusicStyle } from './music/styles';
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
 * Voice pass: resample to 48 kHz mono, bring to VOICE_CHAIN_INPUT_LUFS, run the preset's voice
 * chain, and measure the result (the mix needs its exact level). The voice is a few seconds of
 * mono audio, so a run of its own costs little and keeps the mix's arithmetic exact.
 */
export async function processVoice(options: {
  rawPath: string;
  rawLufs: number;
  outPath: string;
  preset: EffectsPreset;
  signal?: AbortSignal;
}): Promise<LoudnessMeasurement> {
  const filters = [
    `aresample=${SAMPLE_RATE}`,
    'aformat=channel_layouts=mono',
    `volume=${db(VOICE_CHAIN_INPUT_LUFS - options.rawLufs)}`,
    ...options.preset.voiceChain,
    LOUDNESS_METER,
  ];
  // Float samples: the staging gain can take peaks past full scale, and the mix brings them back.
  const { stderr } = await runFfmpeg(
    ['-i', options.rawPath, '-af', filters.join(','), '-c:a', 'pcm_f32le', '-y', options.outPath],
    { signal: options.signal, logLevel: 'info' },
  );
  return parseLoudnessSummary(stderr);
}

/**
 * Where the bed comes from: generated inside the mix's own run, or a file of exactly the mix's
 * length, 48 kHz stereo, at MUSIC_REFERENCE_LUFS (a library track, see music/fit.ts).
 */
export type MusicSource = { style: MusicStyle; seed: string } | { path: string };

/** The processed voice and where it goes in the mix. */
export interface MixVoice {
  path: string;
  /** Measured loudness of the processed voice (mono). */
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

export interface MixOptions {
  /** Null for music alone (a still with no voice-over). */
  voice: MixVoice | null;
  /** Length of the mix in samples at SAMPLE_RATE: exactly the video's. */
  samples: number;
  /** Null for no music bed. */
  music: MusicSource | null;
  /** Null when the input's own sound is replaced. */
  original: OriginalSound | null;
  preset: EffectsPreset;
  /** Loudness and true-peak ceiling the delivered mix will be normalized to. */
  target: { lufs: number; truePeakDbtp: number };
  scratchDir: string;
  outPath: string;
  signal?: AbortSignal;
  onProgress?: (fraction: number) => void;
}

/** A continuous layer under the voice: its loudness in the mix, and whether the voice ducks it. */
interface Bed {
  label: string;
  lufs: number;
  ducked: boolean;
}

/**
 * Mix pass, one ffmpeg run: generates the music (or reads a prepared bed) and sets it at the
 * preset's bed level, takes the input's own sound when it is kept, ducks the music (and the
 * original sound when asked) with the voice as sidechain, limits the sum, and measures it for the
 * second loudness pass. The limiter's ceiling sits far enough under the target's true peak that the
 * second pass can apply one constant gain (loudnorm's linear mode) rather than riding the level.
 */
export async function mixAudio(options: MixOptions): Promise<LoudnessMeasurement> {
  const { preset, samples, voice, music, original } = options;
  if (!voice && !music && !original) throw new RangeError('a mix needs a voice, music or the original sound');
  const bedLufs = VOICE_MIX_LUFS + preset.musicBedDb;
  const inputs: string[] = [];
  const input = (path: string): string => `${inputs.push(path) - 1}:a:0`;
  // The voice is the first input when there is one.
  const voiceInput = voice ? input(voice.path) : '';
  const graph: string[] = [];
  const beds: Bed[] = [];

  if (music) {
    let source = 'music';
    if ('path' in music) source = input(music.path);
    else graph.push(musicGraph(music.style, music.seed, samples, source));
    graph.push(`[${source}]${[...preset.musicChain, `volume=${db(bedLufs - MUSIC_REFERENCE_LUFS)}`].join(',')}[bed]`);
    beds.push({ label: 'bed', lufs: bedLufs, ducked: true });
  }
  if (original) {
    // Kept at its own level, brought down to the music's bed level when louder, never lifted: a
    // quiet ambience stays quiet rather than having its noise raised to the music's level.
    const gain = Math.min(0, bedLufs - original.lufs);
    graph.push(`[${input(original.path)}]${originalSoundChain(samples)},volume=${db(gain)}[original]`);
    beds.push({ label: 'original', lufs: original.lufs + gain, ducked: original.ducked });
  }

  const expectedGain = options.target.lufs - expectedLoudness(voice?.seconds ?? 0, samples / SAMPLE_RATE, beds);
  const ceilingDb = Math.min(-1, options.target.truePeakDbtp - expectedGain - LIMITER_HEADROOM_DB);
  const ducked = voice ? beds.filter((b) => b.ducked).map((b) => b.label) : [];
  const layers = voice ? ['voice', ...(ducked.length ? ['ducked'] : [])] : [];
  layers.push(...beds.filter((b) => !ducked.includes(b.label)).map((b) => b.label));
  if (voice) graph.push(...placeVoice(voiceInput, voice, samples, ducked, preset));
  // A preset's reverb or echo rings on past the end: the mix is cut to the picture's length.
  graph.push(
    `${layers.map((l) => `[${l}]`).join('')}${layers.length > 1 ? `${sum(layers.length)},` : ''}` +
      `atrim=end_sample=${samples},` +
      `alimiter=limit=${10 ** (ceilingDb / 20)}:attack=5:release=50:level=0:latency=1,${LOUDNESS_METER}[mix]`,
  );
  // Tens of kilobytes of music expressions: a script file keeps them off the command line.
  const script = join(options.scratchDir, 'mix.graph');
  await writeFile(script, graph.join(';\n'));

  const seconds = samples / SAMPLE_RATE;
  const { stderr } = await runFfmpeg(
    [
      ...inputs.flatMap((path) => ['-i', path]),
      '-filter_complex_script',
      script,
      '-map',
      '[mix]',
      '-c:a',
      'pcm_s16le',
      '-y',
      options.outPath,
    ],
    {
      signal: options.signal,
      logLevel: 'info',
      ...(options.onProgress ? { onProgress: (at: number) => options.onProgress?.(at / seconds) } : {}),
    },
  );
  return parseLoudnessSummary(stderr);
}

/**
 * The voice placed on both channels as `[voice]`; when there are beds to duck, a copy of it keys
 * the sidechain that ducks their sum into `[ducked]` (the compressor reads only its key, so one
 * sidechain on the sum ducks each bed as it would alone).
 */
function placeVoice(
  source: string,
  voice: MixVoice,
  samples: number,
  ducked: string[],
  preset: EffectsPreset,
): string[] {
  const voiceGain = VOICE_MIX_LUFS - (voice.lufs + DUAL_MONO_GAIN_DB);
  const leadIn = Math.round(voice.leadInSeconds * SAMPLE_RATE);
  const placed =
    `[${source}]volume=${db(voiceGain)},adelay=delays=${leadIn}S:all=1,apad=whole_len=${samples},` +
    `atrim=end_sample=${samples},pan=stereo|c0=c0|c1=c0`;
  if (!ducked.length) return [`${placed}[voice]`];
  const { threshold, ratio, attackMs, releaseMs } = preset.duck;
  const under = ducked.length > 1 ? `${ducked.map((l) => `[${l}]`).join('')}${sum(ducked.length)}[under]` : null;
  return [
    `${placed},asplit=2[voice][key]`,
    ...(under ? [under] : []),
    `[${under ? 'under' : ducked[0]}][key]sidechaincompress=threshold=${threshold}:ratio=${ratio}:attack=${attackMs}:release=${releaseMs}[ducked]`,
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
