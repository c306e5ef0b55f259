import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SAMPLE_RATE } from './audio-format';
import { LOUDNESS_METER, parseLoudnessSummary, type LoudnessMeasurement } from './loudness';
import { musicGraph } from './music/generate';
import { MUSIC_REFERENCE_LUFS, type MusicStyle } from './music/styles';
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

export interface MixOptions {
  /** Null for music alone (a still with no voice-over). */
  voice: MixVoice | null;
  /** Length of the mix in samples at SAMPLE_RATE: exactly the video's. */
  samples: number;
  music: MusicSource;
  preset: EffectsPreset;
  /** Loudness and true-peak ceiling the delivered mix will be normalized to. */
  target: { lufs: number; truePeakDbtp: number };
  scratchDir: string;
  outPath: string;
  signal?: AbortSignal;
  onProgress?: (fraction: number) => void;
}

/**
 * Mix pass, one ffmpeg run: generates the music (or reads a prepared bed), sets it under the voice
 * at the preset's bed level, ducks it with the voice as sidechain, limits the sum, and measures it
 * for the second loudness pass. The limiter's ceiling sits far enough under the target's true peak that the
 * second pass can apply one constant gain (loudnorm's linear mode) rather than riding the level.
 */
export async function mixAudio(options: MixOptions): Promise<LoudnessMeasurement> {
  const { preset, samples, voice, music } = options;
  const bedGain = VOICE_MIX_LUFS + preset.musicBedDb - MUSIC_REFERENCE_LUFS;
  const expectedGain =
    options.target.lufs - expectedLoudness(voice?.seconds ?? 0, samples / SAMPLE_RATE, preset.musicBedDb);
  const ceilingDb = Math.min(-1, options.target.truePeakDbtp - expectedGain - LIMITER_HEADROOM_DB);
  const limitAndMeasure = `alimiter=limit=${10 ** (ceilingDb / 20)}:attack=5:release=50:level=0:latency=1,${LOUDNESS_METER}[mix]`;
  const generated = 'path' in music ? undefined : musicGraph(music.style, music.seed, samples, 'music');
  // Inputs in order: the voice (when there is one), then the music file (when not generated).
  const musicInput = voice ? 1 : 0;

  const graph = [
    ...(generated ? [generated] : []),
    `[${generated ? 'music' : `${musicInput}:a`}]${[...preset.musicChain, `volume=${db(bedGain)}`].join(',')}[bed]`,
    // A preset's reverb or echo rings on past the end: the mix is cut to the picture's length.
    ...(voice
      ? voiceOverBed(voice, preset, samples, limitAndMeasure)
      : [`[bed]atrim=end_sample=${samples},${limitAndMeasure}`]),
  ].join(';\n');
  // Tens of kilobytes of music expressions: a script file keeps them off the command line.
  const script = join(options.scratchDir, 'mix.graph');
  await writeFile(script, graph);

  const seconds = samples / SAMPLE_RATE;
  const { stderr } = await runFfmpeg(
    [
      ...(voice ? ['-i', voice.path] : []),
      ...('path' in music ? ['-i', music.path] : []),
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

/** The voice placed, its copy keying the sidechain that ducks the bed, and the two summed. */
function voiceOverBed(voice: MixVoice, preset: EffectsPreset, samples: number, limitAndMeasure: string): string[] {
  const voiceGain = VOICE_MIX_LUFS - (voice.lufs + DUAL_MONO_GAIN_DB);
  const leadIn = Math.round(voice.leadInSeconds * SAMPLE_RATE);
  const { threshold, ratio, attackMs, releaseMs } = preset.duck;
  return [
    `[0:a]volume=${db(voiceGain)},adelay=delays=${leadIn}S:all=1,apad=whole_len=${samples},` +
      `atrim=end_sample=${samples},pan=stereo|c0=c0|c1=c0,asplit=2[voice][key]`,
    `[bed][key]sidechaincompress=threshold=${threshold}:ratio=${ratio}:attack=${attackMs}:release=${releaseMs}[ducked]`,
    `[voice][ducked]amix=inputs=2:normalize=0:duration=first,${limitAndMeasure}`,
  ];
}

/**
 * The mix's integrated loudness, foreseen: speech at VOICE_MIX_LUFS for as long as it lasts, music
 * at the bed level the rest of the time, power-averaged. Both pass the measurement's relative gate
 * (beds are within 10 LU of the voice), and the ducked music under speech adds little, so this
 * lands within a dB or so of the measurement, which is what the limiter's headroom allows for.
 */
function expectedLoudness(voiceSeconds: number, seconds: number, musicBedDb: number): number {
  const speech = Math.min(voiceSeconds, seconds);
  const power = speech * 10 ** (VOICE_MIX_LUFS / 10) + (seconds - speech) * 10 ** ((VOICE_MIX_LUFS + musicBedDb) / 10);
  return 10 * Math.log10(power / seconds);
}

function db(value: number): string {
  return `${value.toFixed(2)}dB`;
}
