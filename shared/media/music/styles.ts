import type { DrumName, InstrumentName } from './sounds';

export const MUSIC_STYLES = [
  'orchestral',
  'electronic',
  'ambient',
  'cinematic',
  'upbeat',
  'calm',
  'dramatic',
  'jazz',
  'classical',
] as const;

export type MusicStyle = (typeof MUSIC_STYLES)[number];

/** A dub's `music_style` besides the styles: no music bed at all. */
export const NO_MUSIC = 'none';
/** What a dub's `music_style` takes. */
export const DUB_MUSIC_STYLES = [...MUSIC_STYLES, NO_MUSIC] as const;

/** Integrated loudness every style's music is trimmed to; the mix sets the bed relative to it. */
export const MUSIC_REFERENCE_LUFS = -20;

/** A note's place in a bar and its length, both in beats. */
export type Rhythm = readonly (readonly [beat: number, beats: number])[];

export type BassPattern = 'whole' | 'half' | 'beats' | 'eighths' | 'offbeats' | 'rootFifth' | 'walking';

interface Placement {
  /** Linear gain of the part before the style's overall trim. */
  gain: number;
  /** -1 (left) to 1 (right). */
  pan: number;
}

interface Pitched extends Placement {
  instrument: InstrumentName;
  /** Lowest MIDI note of the part's range; chords fill the octave above it. */
  register: number;
}

export type PartSpec =
  | (Pitched & { role: 'chords'; hits?: Rhythm })
  | (Pitched & { role: 'bass'; pattern: BassPattern })
  | (Pitched & {
      role: 'arpeggio';
      stepsPerBeat: 2 | 4;
      shape: 'up' | 'updown' | 'alberti' | 'random';
      density: number;
    })
  | (Pitched & { role: 'melody'; rhythms: readonly Rhythm[] })
  | (Placement & { role: 'drum'; drum: DrumName; hits: readonly number[]; fill?: readonly number[] });

export interface StyleSpec {
  /** Beats per minute; each seed moves it by up to 4 % either way. */
  tempo: number;
  /** Where the off-beat eighth falls within the beat: 0.5 is straight, about 0.62 swings. */
  swing: number;
  /** Candidate keys, as pitch classes of the tonic (0 = C). */
  tonics: readonly number[];
  /** Semitones of the seven scale degrees above the tonic. */
  scale: readonly number[];
  /** Candidate four-bar progressions, as 0-based scale degrees of each bar's chord root. */
  progressions: readonly (readonly number[])[];
  sevenths: boolean;
  parts: readonly PartSpec[];
  /** aecho arguments for the room the style plays in, applied after looping so tails never cut. */
  reverb?: string;
  /** Trim measured per style (over several seeds) so every style plays at MUSIC_REFERENCE_LUFS. */
  gainDb: number;
}

const MAJOR = [0, 2, 4, 5, 7, 9, 11];
const MINOR = [0, 2, 3, 5, 7, 8, 10];
const HARMONIC_MINOR = [0, 2, 3, 5, 7, 8, 11];
const LYDIAN = [0, 2, 4, 6, 7, 9, 11];

const LYRICAL: readonly Rhythm[] = [
  [
    [0, 2],
    [2, 2],
  ],
  [
    [0, 3],
    [3, 1],
  ],
  [
    [0, 1.5],
    [1.5, 0.5],
    [2, 2],
  ],
  [[0, 4]],
  [
    [1, 1],
    [2, 1],
    [3, 1],
  ],
];
const SPARSE: readonly Rhythm[] = [
  [[0, 3]],
  [[1, 2]],
  [[2, 2]],
  [],
  [
    [0, 1],
    [1.5, 2.5],
  ],
];
const LIVELY: readonly Rhythm[] = [
  [
    [0, 0.5],
    [0.5, 0.5],
    [1, 1],
    [2, 0.5],
    [2.5, 1.5],
  ],
  [
    [0, 1],
    [1, 0.5],
    [1.5, 0.5],
    [2, 2],
  ],
  [
    [0.5, 0.5],
    [1, 0.5],
    [1.5, 1],
    [3, 1],
  ],
  [
    [0, 1.5],
    [1.5, 1.5],
    [3, 1],
  ],
];

export const STYLES: Record<MusicStyle, StyleSpec> = {
  orchestral: {
    tempo: 84,
    swing: 0.5,
    tonics: [2, 3, 7],
    scale: MAJOR,
    progressions: [
      [0, 5, 3, 4],
      [0, 3, 4, 0],
      [0, 4, 5, 3],
    ],
    sevenths: false,
    parts: [
      { role: 'chords', instrument: 'strings', register: 55, gain: 0.11, pan: 0 },
      { role: 'bass', instrument: 'cello', register: 38, pattern: 'half', gain: 0.24, pan: -0.2 },
      { role: 'melody', instrument: 'brass', register: 62, rhythms: LYRICAL, gain: 0.07, pan: 0.25 },
      {
        role: 'arpeggio',
        instrument: 'flute',
        register: 67,
        stepsPerBeat: 2,
        shape: 'updown',
        density: 0.6,
        gain: 0.05,
        pan: 0.4,
      },
      { role: 'bass', instrument: 'timpani', register: 38, pattern: 'whole', gain: 0.28, pan: 0 },
    ],
    reverb: '0.8:0.85:53|89|131:0.28|0.2|0.12',
    gainDb: -7.9,
  },
  electronic: {
    tempo: 124,
    swing: 0.5,
    tonics: [9, 6, 2],
    scale: MINOR,
    progressions: [
      [0, 5, 2, 6],
      [0, 6, 5, 6],
      [0, 3, 5, 4],
    ],
    sevenths: false,
    parts: [
      { role: 'chords', instrument: 'warmPad', register: 57, gain: 0.07, pan: 0 },
      {
        role: 'arpeggio',
        instrument: 'pluck',
        register: 64,
        stepsPerBeat: 4,
        shape: 'updown',
        density: 0.85,
        gain: 0.08,
        pan: 0.3,
      },
      { role: 'bass', instrument: 'synthBass', register: 33, pattern: 'offbeats', gain: 0.3, pan: 0 },
      { role: 'drum', drum: 'kick', hits: [0, 1, 2, 3], gain: 0.45, pan: 0 },
      {
        role: 'drum',
        drum: 'hat',
        hits: [0.5, 1.5, 2.5, 3.5],
        fill: [0.5, 1.5, 2.5, 3, 3.25, 3.5, 3.75],
        gain: 0.12,
        pan: 0.2,
      },
      { role: 'drum', drum: 'snare', hits: [1, 3], gain: 0.2, pan: -0.1 },
    ],
    reverb: '0.9:0.8:71|107:0.2|0.12',
    gainDb: -3.2,
  },
  ambient: {
    tempo: 64,
    swing: 0.5,
    tonics: [4, 1, 9],
    scale: LYDIAN,
    progressions: [
      [0, 3, 0, 3],
      [0, 5, 3, 0],
      [0, 1, 0, 4],
    ],
    sevenths: true,
    parts: [
      { role: 'chords', instrument: 'glassPad', register: 55, gain: 0.11, pan: 0 },
      { role: 'bass', instrument: 'subBass', register: 40, pattern: 'whole', gain: 0.2, pan: 0 },
      { role: 'melody', instrument: 'bell', register: 72, rhythms: SPARSE, gain: 0.06, pan: 0.35 },
      { role: 'drum', drum: 'shaker', hits: [0.5, 2.5], gain: 0.04, pan: -0.4 },
    ],
    reverb: '0.7:0.9:97|163|241|317:0.4|0.3|0.22|0.15',
    gainDb: -8.1,
  },
  cinematic: {
    tempo: 88,
    swing: 0.5,
    tonics: [0, 2, 5],
    scale: MINOR,
    progressions: [
      [0, 5, 2, 6],
      [0, 5, 3, 4],
      [0, 3, 5, 6],
    ],
    sevenths: false,
    parts: [
      { role: 'chords', instrument: 'strings', register: 50, gain: 0.1, pan: 0 },
      { role: 'bass', instrument: 'cello', register: 36, pattern: 'eighths', gain: 0.18, pan: 0 },
      {
        role: 'melody',
        instrument: 'brass',
        register: 60,
        rhythms: [
          [[0, 4]],
          [
            [0, 2],
            [2, 2],
          ],
          [
            [0, 3],
            [3, 1],
          ],
        ],
        gain: 0.07,
        pan: -0.2,
      },
      {
        role: 'arpeggio',
        instrument: 'piano',
        register: 67,
        stepsPerBeat: 2,
        shape: 'up',
        density: 0.9,
        gain: 0.05,
        pan: 0.3,
      },
      { role: 'bass', instrument: 'timpani', register: 36, pattern: 'half', gain: 0.25, pan: 0 },
      { role: 'drum', drum: 'kick', hits: [0, 2.5], gain: 0.3, pan: 0 },
    ],
    reverb: '0.8:0.85:61|113|173:0.3|0.22|0.14',
    gainDb: -7.9,
  },
  upbeat: {
    tempo: 116,
    swing: 0.5,
    tonics: [7, 0, 2],
    scale: MAJOR,
    progressions: [
      [0, 4, 5, 3],
      [0, 3, 4, 3],
      [0, 5, 3, 4],
    ],
    sevenths: false,
    parts: [
      { role: 'chords', instrument: 'warmPad', register: 55, gain: 0.05, pan: 0 },
      {
        role: 'arpeggio',
        instrument: 'electricPiano',
        register: 60,
        stepsPerBeat: 2,
        shape: 'updown',
        density: 0.9,
        gain: 0.08,
        pan: -0.25,
      },
      { role: 'melody', instrument: 'pluck', register: 72, rhythms: LIVELY, gain: 0.07, pan: 0.25 },
      { role: 'bass', instrument: 'synthBass', register: 36, pattern: 'rootFifth', gain: 0.28, pan: 0 },
      { role: 'drum', drum: 'kick', hits: [0, 1.5, 2], gain: 0.4, pan: 0 },
      { role: 'drum', drum: 'snare', hits: [1, 3], fill: [1, 3, 3.5, 3.75], gain: 0.22, pan: 0 },
      { role: 'drum', drum: 'hat', hits: [0, 0.5, 1, 1.5, 2, 2.5, 3, 3.5], gain: 0.08, pan: 0.3 },
    ],
    gainDb: -4.9,
  },
  calm: {
    tempo: 72,
    swing: 0.5,
    tonics: [5, 2, 10],
    scale: MAJOR,
    progressions: [
      [0, 2, 3, 0],
      [0, 5, 3, 4],
      [3, 4, 2, 5],
    ],
    sevenths: true,
    parts: [
      { role: 'chords', instrument: 'warmPad', register: 53, gain: 0.06, pan: 0 },
      {
        role: 'arpeggio',
        instrument: 'piano',
        register: 60,
        stepsPerBeat: 2,
        shape: 'up',
        density: 0.9,
        gain: 0.08,
        pan: -0.15,
      },
      { role: 'bass', instrument: 'subBass', register: 41, pattern: 'whole', gain: 0.16, pan: 0 },
      { role: 'melody', instrument: 'flute', register: 72, rhythms: SPARSE, gain: 0.05, pan: 0.3 },
    ],
    reverb: '0.8:0.85:79|131|199:0.3|0.22|0.15',
    gainDb: -2.6,
  },
  dramatic: {
    tempo: 100,
    swing: 0.5,
    tonics: [2, 4, 7],
    scale: HARMONIC_MINOR,
    progressions: [
      [0, 3, 4, 0],
      [0, 5, 3, 4],
      [0, 3, 5, 4],
    ],
    sevenths: false,
    parts: [
      {
        role: 'chords',
        instrument: 'strings',
        register: 52,
        hits: [
          [0, 1.5],
          [1.5, 2.5],
        ],
        gain: 0.1,
        pan: 0,
      },
      { role: 'bass', instrument: 'cello', register: 38, pattern: 'eighths', gain: 0.18, pan: -0.1 },
      { role: 'melody', instrument: 'brass', register: 62, rhythms: LYRICAL, gain: 0.08, pan: 0.2 },
      { role: 'bass', instrument: 'timpani', register: 38, pattern: 'half', gain: 0.3, pan: 0 },
      { role: 'drum', drum: 'snare', hits: [3.5], fill: [3, 3.25, 3.5, 3.75], gain: 0.12, pan: 0.15 },
    ],
    reverb: '0.8:0.85:61|113|173:0.3|0.22|0.14',
    gainDb: -8.6,
  },
  jazz: {
    tempo: 100,
    swing: 0.64,
    tonics: [5, 10, 3],
    scale: MAJOR,
    progressions: [
      [1, 4, 0, 5],
      [1, 4, 0, 0],
      [0, 5, 1, 4],
    ],
    sevenths: true,
    parts: [
      {
        role: 'chords',
        instrument: 'electricPiano',
        register: 55,
        hits: [
          [0, 1],
          [1.5, 1],
          [3, 0.5],
        ],
        gain: 0.07,
        pan: -0.2,
      },
      { role: 'bass', instrument: 'upright', register: 36, pattern: 'walking', gain: 0.3, pan: 0.1 },
      { role: 'melody', instrument: 'bell', register: 67, rhythms: LIVELY, gain: 0.05, pan: 0.3 },
      { role: 'drum', drum: 'ride', hits: [0, 1, 1.5, 2, 3, 3.5], gain: 0.07, pan: 0.35 },
      { role: 'drum', drum: 'hat', hits: [1, 3], gain: 0.05, pan: -0.3 },
    ],
    reverb: '0.85:0.8:67|109:0.22|0.14',
    gainDb: -0.3,
  },
  classical: {
    tempo: 92,
    swing: 0.5,
    tonics: [0, 7, 2],
    scale: MAJOR,
    progressions: [
      [0, 3, 4, 0],
      [0, 5, 1, 4],
      [0, 4, 5, 3],
    ],
    sevenths: false,
    parts: [
      {
        role: 'arpeggio',
        instrument: 'piano',
        register: 48,
        stepsPerBeat: 2,
        shape: 'alberti',
        density: 1,
        gain: 0.11,
        pan: -0.15,
      },
      { role: 'melody', instrument: 'piano', register: 67, rhythms: LIVELY, gain: 0.11, pan: 0.15 },
      { role: 'chords', instrument: 'strings', register: 55, gain: 0.035, pan: 0 },
    ],
    reverb: '0.8:0.85:59|97|149:0.28|0.2|0.12',
    gainDb: 1.5,
  },
};
