import { pick, type Random } from './random';
import { DRUMS, INSTRUMENTS, type Drum, type Instrument } from './sounds';
import type { BassPattern, PartSpec, Rhythm, StyleSpec } from './styles';

/** A melody spans the four-bar progression twice, the second time as an answer to the first. */
const MELODY_BARS = 8;
const BEATS_PER_BAR = 4;
/** Beat lengths are whole numbers of samples at this rate (and so at 24 and 48 kHz): loops of
 * parts rendered at different rates then stay in step however many times they repeat. */
const GRID_RATE = 12000;

export interface NoteEvent {
  /** Seconds from the start of the part's loop. */
  start: number;
  /** Written length in seconds; instruments add their release after it. */
  length: number;
  /** MIDI notes sounding together (empty for a drum hit). */
  pitches: readonly number[];
  velocity: number;
}

/** A part is written for as many bars as it has distinct content, and repeats: drums loop a bar
 * (four with a fill), harmony the progression, the melody its eight bars. */
export type ScorePart = { gain: number; pan: number; seconds: number; events: NoteEvent[] } & (
  { instrument: Instrument } | { drum: Drum }
);

export interface Score {
  parts: ScorePart[];
}

/** Everything a part needs to know about where the music is. */
interface Harmony {
  tonic: number;
  scale: readonly number[];
  /** Root scale degree of each bar's chord, looping. */
  progression: readonly number[];
  sevenths: boolean;
  beat: number;
  swing: number;
}

/**
 * Writes one phrase in the style: the seed picks the tempo (within 4 %), the key, the progression,
 * and every melodic and rhythmic choice, so the same seed always writes the same music.
 */
export function compose(style: StyleSpec, random: Random): Score {
  const tempo = style.tempo * (0.96 + 0.08 * random());
  const harmony: Harmony = {
    tonic: pick(random, style.tonics),
    scale: style.scale,
    progression: pick(random, style.progressions),
    sevenths: style.sevenths,
    beat: Math.round((60 / tempo) * GRID_RATE) / GRID_RATE,
    swing: style.swing,
  };
  return {
    parts: style.parts.map((part) => {
      const bars = loopBars(part, harmony);
      return {
        gain: part.gain,
        pan: part.pan,
        seconds: bars * BEATS_PER_BAR * harmony.beat,
        events: write(part, harmony, bars, random),
        ...(part.role === 'drum' ? { drum: DRUMS[part.drum] } : { instrument: INSTRUMENTS[part.instrument] }),
      };
    }),
  };
}

function loopBars(part: PartSpec, harmony: Harmony): number {
  switch (part.role) {
    case 'drum':
      return part.fill ? 4 : 1;
    case 'melody':
      return MELODY_BARS;
    default:
      return harmony.progression.length;
  }
}

function write(part: PartSpec, harmony: Harmony, bars: number, random: Random): NoteEvent[] {
  const eachBar = (writeBar: (bar: number) => NoteEvent[]): NoteEvent[] =>
    Array.from({ length: bars }, (_, bar) => writeBar(bar)).flat();
  switch (part.role) {
    case 'chords':
      return eachBar((bar) =>
        (part.hits ?? [[0, BEATS_PER_BAR]]).map(([beat, beats]) =>
          note(harmony, bar, beat, beats, voiceChord(chordTones(harmony, bar), part.register), 0.9 + 0.1 * random()),
        ),
      );
    case 'bass':
      return eachBar((bar) => bassLine(part.pattern, harmony, bar, part.register, random));
    case 'arpeggio':
      return eachBar((bar) => arpeggio(part, harmony, bar, random));
    case 'melody':
      return melody(part.rhythms, harmony, part.register, random);
    case 'drum':
      return eachBar((bar) =>
        (bar === bars - 1 && part.fill ? part.fill : part.hits).map((beat) =>
          note(harmony, bar, beat, 0, [], (beat % 1 === 0 ? 1 : 0.8) * (0.88 + 0.12 * random())),
        ),
      );
  }
}

function note(
  h: Harmony,
  bar: number,
  beat: number,
  beats: number,
  pitches: readonly number[],
  velocity: number,
): NoteEvent {
  return { start: (bar * BEATS_PER_BAR + swung(beat, h.swing)) * h.beat, length: beats * h.beat, pitches, velocity };
}

/** Moves off-beat eighths late by the style's swing; everything else stays on the grid. */
function swung(beat: number, swing: number): number {
  const within = beat % 1;
  return Math.abs(within - 0.5) < 1e-9 ? beat - within + swing : beat;
}

/** MIDI pitch of a scale degree (0-based, may exceed 6 or go negative) in the octave of `base`. */
function degree(h: Harmony, step: number, base: number): number {
  const octave = Math.floor(step / 7);
  const within = step - octave * 7;
  return base + (h.scale[within] ?? 0) + 12 * octave;
}

/** The bar's chord as scale degrees: a stack of thirds on the bar's root. */
function chordDegrees(h: Harmony, bar: number): number[] {
  const root = h.progression[bar % h.progression.length] ?? 0;
  return h.sevenths ? [root, root + 2, root + 4, root + 6] : [root, root + 2, root + 4];
}

function chordTones(h: Harmony, bar: number): number[] {
  return chordDegrees(h, bar).map((step) => degree(h, step, h.tonic));
}

/** Lowest MIDI note at or above `floor` with the pitch class of `pitch`. */
function above(pitch: number, floor: number): number {
  return floor + ((((pitch - floor) % 12) + 12) % 12);
}

/** Close position within the octave above the register, so chord changes move by small steps. */
function voiceChord(tones: readonly number[], register: number): number[] {
  return tones.map((tone) => above(tone, register)).sort((a, b) => a - b);
}

const BASS_RHYTHMS: Record<
  Exclude<BassPattern, 'walking'>,
  readonly (readonly [beat: number, beats: number, fifth: boolean])[]
> = {
  whole: [[0, 4, false]],
  half: [
    [0, 2, false],
    [2, 2, false],
  ],
  beats: [
    [0, 0.9, false],
    [1, 0.9, false],
    [2, 0.9, false],
    [3, 0.9, false],
  ],
  eighths: Array.from({ length: 8 }, (_, i) => [i / 2, 0.45, false] as const),
  offbeats: [
    [0.5, 0.4, false],
    [1.5, 0.4, false],
    [2.5, 0.4, false],
    [3.5, 0.4, false],
  ],
  rootFifth: [
    [0, 1.5, false],
    [1.5, 0.5, false],
    [2, 1, true],
    [3, 1, false],
  ],
};

function bassLine(pattern: BassPattern, h: Harmony, bar: number, register: number, random: Random): NoteEvent[] {
  const root = above(chordTones(h, bar)[0] ?? h.tonic, register);
  if (pattern === 'walking') {
    // Root, two chord tones, then a chromatic step into the next bar's root: the walking line.
    const [, third = root, fifth = root] = chordTones(h, bar).map((tone) => above(tone, root));
    const next = above(chordTones(h, bar + 1)[0] ?? h.tonic, register);
    const approach = next + (random() < 0.5 ? -1 : 1);
    const line = [root, random() < 0.5 ? third : fifth, random() < 0.5 ? fifth : third, approach];
    return line.map((pitch, beat) => note(h, bar, beat, 0.9, [pitch], beat === 0 ? 1 : 0.85));
  }
  const fifth = root + 7;
  return BASS_RHYTHMS[pattern].map(([beat, beats, onFifth]) =>
    note(h, bar, beat, beats, [onFifth ? fifth : root], beat === 0 ? 1 : 0.85 + 0.1 * random()),
  );
}

function arpeggio(part: Extract<PartSpec, { role: 'arpeggio' }>, h: Harmony, bar: number, random: Random): NoteEvent[] {
  // Chord tones in chord order (root, third, fifth...) from the register up, then an octave higher.
  const low = chordTones(h, bar).map((tone) => above(tone, part.register));
  const tones = [...low, ...low.map((tone) => tone + 12)].sort((a, b) => a - b);
  const steps = BEATS_PER_BAR * part.stepsPerBeat;
  const events: NoteEvent[] = [];
  let previous = -1;
  for (let step = 0; step < steps; step++) {
    if (step > 0 && random() > part.density) continue;
    let index: number;
    switch (part.shape) {
      case 'up':
        index = step % tones.length;
        break;
      case 'updown': {
        const cycle = 2 * tones.length - 2;
        const at = step % cycle;
        index = at < tones.length ? at : cycle - at;
        break;
      }
      case 'alberti':
        // Root, fifth, third, fifth: the classical left hand.
        index = [0, 2, 1, 2][step % 4] ?? 0;
        break;
      case 'random':
        do index = Math.floor(random() * tones.length);
        while (index === previous && tones.length > 1);
        break;
    }
    previous = index;
    const pitch = part.shape === 'alberti' ? low[index] : tones[index];
    const beat = step / part.stepsPerBeat;
    events.push(
      note(h, bar, beat, 0.9 / part.stepsPerBeat, [pitch ?? h.tonic], step % part.stepsPerBeat === 0 ? 1 : 0.8),
    );
  }
  return events;
}

/**
 * A tune over the progression: stepwise moves on the scale, landing on chord tones on strong beats,
 * the second four bars answering the first with the same rhythm, ending on the tonic.
 */
function melody(rhythms: readonly Rhythm[], h: Harmony, register: number, random: Random): NoteEvent[] {
  const half = MELODY_BARS / 2;
  const bars = Array.from({ length: half }, () => pick(random, rhythms));
  const base = above(h.tonic, register);
  let position = 4;
  const events: NoteEvent[] = [];
  for (let bar = 0; bar < MELODY_BARS; bar++) {
    const rhythm = bars[bar % half] ?? [];
    rhythm.forEach(([beat, beats], i) => {
      const last = bar === MELODY_BARS - 1 && i === rhythm.length - 1;
      position += pick(random, [-2, -1, -1, 0, 1, 1, 2]);
      position = Math.min(11, Math.max(0, position));
      if (last) position = position >= 4 ? 7 : 0;
      else if (beat % 2 === 0) position = nearestChordDegree(position, chordDegrees(h, bar));
      events.push(note(h, bar, beat, beats, [degree(h, position, base)], beat === 0 ? 1 : 0.85 + 0.1 * random()));
    });
  }
  return events;
}

function nearestChordDegree(position: number, chord: readonly number[]): number {
  for (let distance = 0; distance < 4; distance++) {
    for (const candidate of [position - distance, position + distance]) {
      if (candidate >= 0 && chord.some((d) => (((candidate - d) % 7) + 7) % 7 === 0)) return candidate;
    }
  }
  return position;
}
