/**
 * The instruments, as additive synthesis cheap enough for ffmpeg's expression evaluator: harmonic
 * partials cost one cosine per note (render.ts expands them as Chebyshev polynomials of it), and
 * only detuned or inharmonic partials cost a cosine each.
 */
export interface Instrument {
  /** Amplitudes of harmonics 1, 2, 3... held for the whole note. */
  harmonics: readonly number[];
  /** Harmonics that die away faster than the note: the bright onset of struck and plucked sounds. */
  brightness?: { harmonics: readonly number[]; decay: number };
  /** Partials off the harmonic series: frequency ratio, amplitude, optional decay rate (1/s). */
  partials?: readonly (readonly [ratio: number, amplitude: number, decay?: number])[];
  /** Seconds to full level: never 0, an instant onset clicks. */
  attack: number;
  /** Exponential decay rate of the whole note (1/s); 0 holds the note for its length. */
  decay: number;
  /** Seconds of fade after the note's written length. */
  release: number;
  /** Phase-modulation depth of a 5 Hz vibrato, for the bowed and blown sounds. */
  vibrato?: number;
}

export const INSTRUMENTS = {
  strings: {
    harmonics: [1, 0.45, 0.25],
    partials: [[1.004, 0.6]],
    attack: 0.35,
    decay: 0,
    release: 0.5,
    vibrato: 0.12,
  },
  warmPad: { harmonics: [1, 0.25], partials: [[1.003, 0.8]], attack: 0.6, decay: 0, release: 0.9 },
  glassPad: { harmonics: [1, 0.18, 0.05], partials: [[1.002, 0.6]], attack: 1.4, decay: 0, release: 1.8 },
  brass: { harmonics: [1, 0.6, 0.4, 0.22, 0.12], attack: 0.08, decay: 0, release: 0.25, vibrato: 0.1 },
  flute: { harmonics: [1, 0.2, 0.05], attack: 0.07, decay: 0, release: 0.2, vibrato: 0.15 },
  piano: {
    harmonics: [1],
    brightness: { harmonics: [0, 0.5, 0.25, 0.12], decay: 3 },
    attack: 0.004,
    decay: 1.8,
    release: 0.15,
  },
  electricPiano: {
    harmonics: [1],
    brightness: { harmonics: [0, 0.2, 0, 0, 0, 0, 0.1], decay: 6 },
    attack: 0.004,
    decay: 1.2,
    release: 0.2,
  },
  pluck: {
    harmonics: [1],
    brightness: { harmonics: [0, 0.25, 0.33, 0, 0.2], decay: 6 },
    attack: 0.003,
    decay: 5,
    release: 0.05,
  },
  bell: {
    harmonics: [1],
    partials: [
      [2.76, 0.35, 3],
      [5.4, 0.15, 6],
      [0.5, 0.1],
    ],
    attack: 0.003,
    decay: 1.1,
    release: 0.3,
  },
  subBass: { harmonics: [1, 0.15], attack: 0.01, decay: 0, release: 0.08 },
  synthBass: {
    harmonics: [1],
    brightness: { harmonics: [0, 0.45, 0.25], decay: 4 },
    attack: 0.006,
    decay: 2.5,
    release: 0.06,
  },
  upright: {
    harmonics: [1],
    brightness: { harmonics: [0, 0.35, 0.12], decay: 5 },
    attack: 0.008,
    decay: 2.2,
    release: 0.08,
  },
  cello: {
    harmonics: [1, 0.5, 0.3, 0.15],
    partials: [[1.003, 0.4]],
    attack: 0.12,
    decay: 0,
    release: 0.25,
    vibrato: 0.12,
  },
  timpani: {
    harmonics: [1],
    brightness: { harmonics: [0, 0.2], decay: 5 },
    partials: [[1.5, 0.35, 4]],
    attack: 0.004,
    decay: 2.2,
    release: 0.2,
  },
} as const satisfies Record<string, Instrument>;

export type InstrumentName = keyof typeof INSTRUMENTS;

/**
 * Unpitched percussion, written directly as expressions of the hit's local time `u`: a kick is a
 * sine swept from 160 Hz down to 48 Hz, the rest are shaped noise (ffmpeg's random(), whose state
 * lives in expression variable 9, so it is the same noise on every run) band-limited by `filter`.
 */
export interface Drum {
  expression: (u: string) => string;
  /** How long a hit rings, in seconds. */
  seconds: number;
  /** Highest frequency worth computing, in Hz: decides the rate the drum is rendered at. */
  band: number;
  filter?: string;
}

const noise = '(2*random(9)-1)';

export const DRUMS = {
  kick: { expression: (u) => `sin(6.2832*(48*${u}+3.2*(1-exp(-35*${u}))))*exp(-7*${u})`, seconds: 0.5, band: 2000 },
  snare: {
    expression: (u) => `0.6*${noise}*exp(-20*${u})+0.5*sin(1193.8*${u})*exp(-25*${u})`,
    seconds: 0.3,
    band: 10000,
    filter: 'highpass=f=150',
  },
  hat: { expression: (u) => `${noise}*exp(-60*${u})`, seconds: 0.12, band: 20000, filter: 'highpass=f=7000' },
  ride: {
    expression: (u) => `0.6*${noise}*exp(-8*${u})+0.3*sin(19478*${u})*exp(-5*${u})`,
    seconds: 0.8,
    band: 20000,
    filter: 'highpass=f=4000',
  },
  shaker: {
    expression: (u) => `${noise}*min(1,${u}/0.015)*exp(-35*${u})`,
    seconds: 0.2,
    band: 20000,
    filter: 'highpass=f=5000',
  },
} as const satisfies Record<string, Drum>;

export type DrumName = keyof typeof DRUMS;
