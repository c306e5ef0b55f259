/**
 * Effects presets: what happens to the voice, how the music sits under it, and the loudness the
 * finished mix is normalized to. Filter thresholds are absolute levels, which is safe because the
 * mix stages every voice to the same loudness before these chains see it (see mix.ts). Chains keep
 * close to unity gain (reverbs lower their dry level by what their echoes add), since the mix
 * foresees its loudness from the staged levels.
 */
export interface EffectsPreset {
  description: string;
  /** Integrated loudness of the delivered mix, LUFS (EBU R128). */
  targetLufs: number;
  /** Ceiling for the delivered mix's true peak, dBTP, after AAC encoding. */
  truePeakDbtp: number;
  /** Loudness range the preset's dynamics are designed for, LU. */
  lra: number;
  /** ffmpeg audio filters applied to the voice (mono, 48 kHz, at VOICE_CHAIN_INPUT_LUFS). */
  voiceChain: readonly string[];
  /** ffmpeg audio filters applied to the music before it is ducked. */
  musicChain: readonly string[];
  /** Music level relative to the voice where the voice is silent, LU: the ducking takes it further
   * down under speech, so music-only passages keep close to the program's loudness. */
  musicBedDb: number;
  /** How hard the music ducks while the voice speaks (ffmpeg sidechaincompress). */
  duck: { threshold: number; ratio: number; attackMs: number; releaseMs: number };
}

export type EffectsPresetName = 'standard' | 'cinematic' | 'podcast' | 'music' | 'ambient';

export const EFFECTS_PRESETS: Record<EffectsPresetName, EffectsPreset> = {
  standard: {
    description:
      'Clear voice-over for online video: presence lift, gentle compression, de-essing; music ducked well under speech. -14 LUFS, -1 dBTP.',
    targetLufs: -14,
    truePeakDbtp: -1,
    lra: 11,
    voiceChain: [
      'highpass=f=80',
      'equalizer=f=250:t=q:w=1.2:g=-2',
      'equalizer=f=3200:t=q:w=1:g=3',
      'acompressor=threshold=-24dB:ratio=3:attack=8:release=150:makeup=3dB',
      'deesser=i=0.4:m=0.5:f=0.5',
    ],
    // A dip where the voice's presence lives lets speech sit on top without pushing it up.
    musicChain: ['equalizer=f=3000:t=q:w=1.5:g=-3'],
    musicBedDb: -4,
    duck: { threshold: 0.03, ratio: 8, attackMs: 20, releaseMs: 400 },
  },
  podcast: {
    description:
      'Close, dense spoken word: noise reduction, warmth, firm compression and de-essing; music low and band-limited. -16 LUFS, -1.5 dBTP.',
    targetLufs: -16,
    truePeakDbtp: -1.5,
    lra: 7,
    voiceChain: [
      'highpass=f=90',
      'afftdn=nf=-30',
      'bass=g=2:f=140:w=0.8',
      'equalizer=f=3500:t=q:w=1:g=4',
      'acompressor=threshold=-28dB:ratio=4:attack=5:release=120:makeup=6dB',
      'deesser=i=0.5:m=0.5:f=0.5',
    ],
    // Band-limited under the voice; the make-up gain returns what the filters take.
    musicChain: ['highpass=f=120', 'lowpass=f=9000', 'equalizer=f=3000:t=q:w=1.5:g=-4', 'volume=1.3dB'],
    musicBedDb: -6,
    duck: { threshold: 0.02, ratio: 12, attackMs: 15, releaseMs: 500 },
  },
  cinematic: {
    description:
      'Film-style dynamics: a warm voice in a small room, light compression, music carried higher with weight in the low end. -23 LUFS, -2 dBTP.',
    targetLufs: -23,
    truePeakDbtp: -2,
    lra: 18,
    voiceChain: [
      'highpass=f=60',
      'bass=g=2.5:f=110',
      'equalizer=f=2500:t=q:w=1.2:g=1.5',
      'acompressor=threshold=-20dB:ratio=2:attack=20:release=250:makeup=1dB',
      'deesser=i=0.3:m=0.5:f=0.5',
      'aecho=1:0.95:35|61:0.2|0.12',
    ],
    musicChain: ['bass=g=2:f=90', 'equalizer=f=2500:t=q:w=1.5:g=-2'],
    musicBedDb: -3,
    duck: { threshold: 0.04, ratio: 5, attackMs: 50, releaseMs: 700 },
  },
  music: {
    description:
      'Music-forward: a bright, compressed voice over a loud, wide music bed that ducks only lightly. -14 LUFS, -1 dBTP.',
    targetLufs: -14,
    truePeakDbtp: -1,
    lra: 9,
    voiceChain: [
      'highpass=f=100',
      'equalizer=f=4000:t=q:w=1:g=2.5',
      'treble=g=2:f=10000',
      'acompressor=threshold=-26dB:ratio=3.5:attack=6:release=100:makeup=4dB',
      'deesser=i=0.45:m=0.5:f=0.5',
    ],
    musicChain: ['extrastereo=m=1.25'],
    musicBedDb: -1,
    duck: { threshold: 0.06, ratio: 3, attackMs: 40, releaseMs: 300 },
  },
  ambient: {
    description:
      'Soft and spacious: a mellow voice with a long reverb over a dark, reverberant bed. -18 LUFS, -2 dBTP.',
    targetLufs: -18,
    truePeakDbtp: -2,
    lra: 14,
    voiceChain: [
      'highpass=f=80',
      'lowpass=f=12000',
      'equalizer=f=3000:t=q:w=1.5:g=1.5',
      'acompressor=threshold=-22dB:ratio=2:attack=15:release=200:makeup=1dB',
      'aecho=1:0.9:60|110|170:0.3|0.2|0.1',
    ],
    musicChain: ['lowpass=f=9000', 'aecho=1:0.95:90|150:0.25|0.15'],
    musicBedDb: -4,
    duck: { threshold: 0.04, ratio: 5, attackMs: 60, releaseMs: 800 },
  },
};

export function isEffectsPreset(value: string): value is EffectsPresetName {
  return Object.hasOwn(EFFECTS_PRESETS, value);
}
