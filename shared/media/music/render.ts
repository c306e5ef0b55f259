import type { NoteEvent, Score, ScorePart } from './compose';

/**
 * Each part is rendered from a little before its loop's start to a little after its end: the
 * resampler and the drums' filters then run in from the previous loop's sound (the notes that
 * ring across the loop point), and the cut-out loop joins without a click.
 */
const PRE_ROLL_SECONDS = 0.02;
/** Samples per frame each part is made in: four times aevalsrc's own, for a quarter of the calls down the chain. */
const FRAME_SAMPLES = 4096;

/**
 * After how many samples the score repeats: the least common multiple of its parts' loops (a bar
 * of drums or four with a fill, the four-bar progression, the eight-bar melody), so in practice
 * its longest loop.
 */
export function scorePeriod(score: Score, sampleRate: number): number {
  const gcd = (a: number, b: number): number => (b ? gcd(b, a % b) : a);
  return score.parts.reduce((period, part) => {
    const loop = Math.round(part.seconds * sampleRate);
    return (period / gcd(period, loop)) * loop;
  }, 1);
}

/**
 * Turns a score into an ffmpeg filtergraph of its first `samples` samples, at `gainDb`: each part
 * becomes one `aevalsrc` whose expression is a binary search over the part's note start times (so
 * a sample costs a few comparisons plus the notes sounding), rendered once for its loop and
 * repeated, panned, summed, through the style's room (reverb), trimmed to length.
 */
export function renderScore(
  score: Score,
  options: { sampleRate: number; samples: number; reverb?: string; gainDb: number; label: string },
): string {
  const parts = score.parts.map((_, i) => i);
  const dry = renderParts(score, parts, { sampleRate: options.sampleRate, samples: options.samples, label: 'dry' });
  return `${dry};\n[dry]${finishScore(options)}[${options.label}]`;
}

/**
 * The filtergraph of the dry sum (before the room) of the score's `parts` (indices), exactly
 * `samples` samples of stereo at `sampleRate`, into `[label]`: renderScore() in pieces, so that
 * several runs can share the rendering and finishScore() take their sum to the music.
 */
export function renderParts(
  score: Score,
  parts: readonly number[],
  options: { sampleRate: number; samples: number; label: string },
): string {
  const { sampleRate, samples } = options;
  const chains = parts.map((i) => {
    const part = score.parts[i]!;
    const [left, right] = constantPowerPan(part.pan);
    const rate = renderRate(part, sampleRate);
    // A video shorter than the loop needs only the loop's beginning: render no more than that.
    const loop = Math.min(Math.round(part.seconds * sampleRate), samples);
    const preRoll = Math.round(PRE_ROLL_SECONDS * sampleRate);
    const filters = [
      `aevalsrc=exprs='${partExpression(part)}':s=${rate}:n=${FRAME_SAMPLES}:d=${num((preRoll + loop) / sampleRate + PRE_ROLL_SECONDS)}`,
      ...('drum' in part && part.drum.filter ? [part.drum.filter] : []),
      ...(rate === sampleRate ? [] : [`aresample=${sampleRate}`]),
      `atrim=start_sample=${preRoll}:end_sample=${preRoll + loop}`,
      'asetpts=N/SR/TB',
      `aloop=loop=-1:size=${loop}`,
      `pan=stereo|c0=${num(left)}*c0|c1=${num(right)}*c0[part${i}]`,
    ];
    return filters.join(',');
  });
  const inputs = parts.map((i) => `[part${i}]`).join('');
  return [
    ...chains,
    `${inputs}amix=inputs=${parts.length}:normalize=0,atrim=end_sample=${samples}[${options.label}]`,
  ].join(';\n');
}

/** The filters that take the dry sum of all the parts to the music: the room, the length, the style's level. */
export function finishScore(options: { samples: number; reverb?: string; gainDb: number }): string {
  return [
    // Before the trim: aecho appends its tail at the end of stream, which would lengthen the music.
    ...(options.reverb ? [`aecho=${options.reverb}`] : []),
    `atrim=end_sample=${options.samples}`,
    'asetpts=N/SR/TB',
    `volume=${num(options.gainDb)}dB`,
  ].join(',');
}

/** How far back the room reaches: aecho only echoes its input, so nothing rings longer than its longest delay. */
export function reverbSeconds(reverb: string | undefined): number {
  const delays = reverb?.split(':')[2]?.split('|').map(Number) ?? [];
  return Math.max(0, ...delays) / 1000;
}

/**
 * The score's parts in two groups of about the same rendering cost, for two runs: a part costs
 * about its expression's length for every sample rendered (its loop, or less, at its own rate).
 */
export function splitParts(score: Score, sampleRate: number, samples: number): [number[], number[]] {
  const costs = score.parts.map((part, i) => ({
    i,
    cost:
      partExpression(part).length *
      Math.min(Math.round(part.seconds * sampleRate), samples) *
      (renderRate(part, sampleRate) / sampleRate),
  }));
  const groups: [{ parts: number[]; cost: number }, { parts: number[]; cost: number }] = [
    { parts: [], cost: 0 },
    { parts: [], cost: 0 },
  ];
  for (const { i, cost } of costs.sort((a, b) => b.cost - a.cost)) {
    const lighter = groups[0].cost <= groups[1].cost ? groups[0] : groups[1];
    lighter.parts.push(i);
    lighter.cost += cost;
  }
  return [groups[0].parts.sort((a, b) => a - b), groups[1].parts.sort((a, b) => a - b)];
}

/**
 * The lowest of 12, 24 or 48 kHz that still holds the part's highest partial: a bass line has
 * nothing above 1 kHz and costs a quarter as much computed at 12 kHz, then resampled.
 */
function renderRate(part: ScorePart, sampleRate: number): number {
  let highest: number;
  if ('drum' in part) {
    highest = part.drum.band;
  } else {
    const { harmonics, brightness, partials = [] } = part.instrument;
    const ratio = Math.max(harmonics.length, brightness?.harmonics.length ?? 0, ...partials.map(([r]) => r));
    const pitch = Math.max(...part.events.flatMap((event) => event.pitches));
    highest = ratio * 440 * 2 ** ((pitch - 69) / 12);
  }
  // 10 % above Nyquist's minimum leaves the resampler's filter room before anything folds back.
  return [sampleRate / 4, sampleRate / 2].find((rate) => rate >= 2.2 * highest) ?? sampleRate;
}

/** A part's sound as one expression of `t` (which runs PRE_ROLL_SECONDS ahead of the music's
 * time). Notes that ring past the loop's end also sound from its start, and notes at its very
 * start also just after its end, each shifted by one loop, so the loop point is seamless. */
function partExpression(part: ScorePart): string {
  const loop = part.seconds;
  const ring = 'drum' in part ? part.drum.seconds : part.instrument.release;
  const notes: { start: number; end: number; body: string }[] = [];
  for (const event of part.events) {
    const end = ('drum' in part ? 0 : event.length) + ring;
    const body = `${num(event.velocity * part.gain)}*(${noteBody(part, event)})`;
    const start = event.start + PRE_ROLL_SECONDS;
    notes.push({ start, end, body });
    if (event.start + end > loop) notes.push({ start: start - loop, end, body });
    if (event.start < PRE_ROLL_SECONDS) notes.push({ start: start + loop, end, body });
  }
  const lanes = layOut(notes);
  return lanes.map((lane) => search(lane)).join('+') || '0';
}

/** Splits notes into lanes whose notes never overlap, so each lane plays one note at a time. */
function layOut<T extends { start: number; end: number }>(notes: T[]): T[][] {
  const lanes: { until: number; notes: T[] }[] = [];
  for (const note of [...notes].sort((a, b) => a.start - b.start)) {
    const lane = lanes.find((l) => l.until <= note.start);
    if (lane) {
      lane.notes.push(note);
      lane.until = note.start + note.end;
    } else {
      lanes.push({ until: note.start + note.end, notes: [note] });
    }
  }
  return lanes.map((lane) => lane.notes);
}

/** The lane's sound at time t: find the last note started, play it while it rings. Variable 0
 * holds the time since that note's start (`u` in the instrument formulas). */
function search(notes: readonly { start: number; end: number; body: string }[]): string {
  if (notes.length === 1) {
    const note = notes[0]!;
    return `st(0,t-${num(note.start)});if(between(ld(0),0,${num(note.end)}),${note.body},0)`;
  }
  const middle = notes.length >> 1;
  const first = notes[middle]!;
  return `if(lt(t,${num(first.start)}),${search(notes.slice(0, middle))},${search(notes.slice(middle))})`;
}

function noteBody(part: ScorePart, event: NoteEvent): string {
  const u = 'ld(0)';
  if ('drum' in part) return part.drum.expression(u);
  const { harmonics, brightness, partials = [], attack, decay, release, vibrato } = part.instrument;
  // Per note, computed once: variable 2 the vibrato's phase offset, variable 3 the fading of the
  // bright harmonics. Per tone, variable 1 holds cos(phase), from which the harmonics follow.
  const setup = [
    ...(vibrato ? [`st(2,${num(vibrato)}*sin(31.416*${u}))`] : []),
    ...(brightness ? [`st(3,exp(-${num(brightness.decay)}*${u}))`] : []),
  ];
  const held = chebyshev(harmonics);
  const bright = brightness ? chebyshev(brightness.harmonics) : undefined;
  const tones = event.pitches.map((pitch) => {
    const omega = 2 * Math.PI * 440 * 2 ** ((pitch - 69) / 12);
    const terms = [horner(held, 'ld(1)')];
    if (bright) terms.push(`ld(3)*(${horner(bright, 'ld(1)')})`);
    for (const [ratio, amplitude, fade] of partials) {
      terms.push(`${num(amplitude)}*cos(${num(omega * ratio)}*${u})${fade ? `*exp(-${num(fade)}*${u})` : ''}`);
    }
    return `(st(1,cos(${num(omega)}*${u}${vibrato ? '+ld(2)' : ''}));${terms.join('+')})`;
  });
  const envelope = [
    `min(1,${u}/${num(attack)})`,
    `min(1,(${num(event.length + release)}-${u})/${num(release)})`,
    ...(decay ? [`exp(-${num(decay)}*${u})`] : []),
  ].join('*');
  return [...setup, `${envelope}*(${tones.join('+')})`].join(';');
}

/**
 * Power-series coefficients of sum(a[k-1] * T_k(c)): since cos(k x) = T_k(cos x), a whole set of
 * harmonics costs one cosine and a polynomial instead of one sine per harmonic.
 */
function chebyshev(amplitudes: readonly number[]): number[] {
  const result = new Array<number>(amplitudes.length + 1).fill(0);
  let previous = [1];
  let current = [0, 1];
  amplitudes.forEach((amplitude, i) => {
    current.forEach((coefficient, power) => {
      result[power] = (result[power] ?? 0) + amplitude * coefficient;
    });
    if (i < amplitudes.length - 1) {
      const next = [0, ...current.map((c) => 2 * c)];
      previous.forEach((c, power) => (next[power] = (next[power] ?? 0) - c));
      [previous, current] = [current, next];
    }
  });
  return result;
}

function horner(coefficients: readonly number[], x: string): string {
  let text = num(coefficients[coefficients.length - 1] ?? 0);
  for (let power = coefficients.length - 2; power >= 0; power--) {
    text = `${num(coefficients[power] ?? 0)}+${x}*(${text})`;
  }
  return text;
}

function constantPowerPan(pan: number): [number, number] {
  const angle = ((pan + 1) * Math.PI) / 4;
  return [Math.cos(angle) * Math.SQRT2, Math.sin(angle) * Math.SQRT2];
}

/**
 * Stable decimal text (identical run to run, for identical output), with ten significant digits:
 * a note and its copy one loop away must start at the same phase, and coarser start times would
 * put a step in the sound at the loop point.
 */
function num(value: number): string {
  return Number(value.toPrecision(10)).toString();
}
