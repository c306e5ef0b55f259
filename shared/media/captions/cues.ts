import { CAPTION_LAYOUT } from '../spoken-limits';
import type { Pause, SpokenLine } from '../voice/timed';
import { captionLines, chunkedText, type BreakKind, type ChunkedText } from './layout';

/** One caption on screen: 1 or 2 lines of at most 42 characters. */
export interface Cue {
  startSeconds: number;
  endSeconds: number;
  lines: string[];
}

/**
 * What a cue boundary costs, against CUE_COST for each cue: a sentence or clause end is where the
 * voice pauses, so the cue changes exactly when it does; a boundary between words has no pause to
 * land on and is taken only when a split at clauses would need more than two cues more.
 */
const CUE_COST = 10;
const BREAK_COST: Record<BreakKind, number> = { sentence: 0, clause: 1, word: 25, inside: 60 };
/** Cost of a cue's unused room, squared: of two splits at equal cost, the more even one wins, and a flash of one word loses. */
const SLACK_COST = 6;
const CUE_CHARACTERS = CAPTION_LAYOUT.maxLines * CAPTION_LAYOUT.maxLineCharacters;
/** How far from its expected time a pause may be for a cut, as a share of the shorter neighbouring cue. */
const PAUSE_WINDOW_SHARE = 0.5;
/** A pause's score is its length less this much per second away from the expected time. */
const PAUSE_DISTANCE_COST = 0.25;

/**
 * The captions of what was spoken: one cue per line when its text fits in one cue; a longer one
 * split into cues that each fit, preferably at its clause boundaries (commas, semicolons, colons,
 * dashes), else between words. Each cue boundary is put in a pause of the speech near where the
 * boundary falls by its share of the text (of several, the longest, less what its distance costs:
 * a comma's pause beats a closure inside a word): the cue before ends as the pause starts, the one
 * after starts as it ends. Only where the speech has no pause near does the cut fall at that
 * proportional time.
 */
export function captionCues(lines: readonly SpokenLine[], language: string): Cue[] {
  return lines.flatMap((line) => {
    const text = chunkedText(line.text, language);
    if (!text.chunks.length) return [];
    const ranges = cueRanges(text);
    const cuts = cutTimes(line, text, ranges);
    return ranges.map(([from, to], i) => ({
      startSeconds: i === 0 ? line.startSeconds : cuts[i - 1]!.endSeconds,
      endSeconds: i === ranges.length - 1 ? line.endSeconds : cuts[i]!.startSeconds,
      lines: captionLines(text, from, to)!,
    }));
  });
}

/** The chunks cut into cues that each fit, at the least cost: [from, to) chunk ranges. */
function cueRanges(text: ChunkedText): [number, number][] {
  const n = text.chunks.length;
  const best: { cost: number; from: number }[] = [{ cost: 0, from: -1 }];
  for (let to = 1; to <= n; to++) {
    best[to] = { cost: Infinity, from: -1 };
    for (let from = to - 1; from >= 0; from--) {
      const length = text.length(from, to);
      // Pieces only get longer further back: once one is over a cue's room, none fits.
      if (length > CUE_CHARACTERS) break;
      if (!captionLines(text, from, to)) continue;
      const cost =
        best[from]!.cost +
        CUE_COST +
        (to < n ? BREAK_COST[text.breaks[to]!] : 0) +
        (n > to - from ? SLACK_COST * ((CUE_CHARACTERS - length) / CUE_CHARACTERS) ** 2 : 0);
      if (cost < best[to]!.cost) best[to] = { cost, from };
    }
  }
  const ranges: [number, number][] = [];
  for (let to = n; to > 0; to = best[to]!.from) ranges.unshift([best[to]!.from, to]);
  return ranges;
}

/** Where the speech changes from each cue to the next: a pause of the line, or an instant in it. */
function cutTimes(line: SpokenLine, text: ChunkedText, ranges: readonly [number, number][]): Pause[] {
  const total = text.length(0, text.chunks.length);
  const span = line.endSeconds - line.startSeconds;
  const timeAt = (chunk: number): number => line.startSeconds + (span * text.length(0, chunk)) / total;
  const cuts: Pause[] = [];
  let earliest = line.startSeconds;
  for (let i = 1; i < ranges.length; i++) {
    const [from, at] = ranges[i - 1]!;
    const to = ranges[i]![1];
    const expected = timeAt(at);
    const window = PAUSE_WINDOW_SHARE * Math.min(expected - timeAt(from), timeAt(to) - expected);
    const score = (p: Pause): number =>
      p.endSeconds - p.startSeconds - PAUSE_DISTANCE_COST * Math.abs((p.startSeconds + p.endSeconds) / 2 - expected);
    const pause = line.pauses
      .filter((p) => p.startSeconds >= earliest && Math.abs((p.startSeconds + p.endSeconds) / 2 - expected) <= window)
      .reduce<Pause | null>((best, p) => (!best || score(p) > score(best) ? p : best), null);
    const instant = Math.max(expected, earliest);
    const cut = pause ?? { startSeconds: instant, endSeconds: instant };
    cuts.push(cut);
    earliest = cut.endSeconds;
  }
  return cuts;
}
