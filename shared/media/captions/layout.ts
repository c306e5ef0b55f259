import { CAPTION_LAYOUT } from '../spoken-limits';

/**
 * Text between two places a caption may break, and whether a space separated it from the one
 * before (dropped at a break). Scripts written without spaces (Chinese, Japanese) break between
 * the segmenter's words, never before punctuation.
 */
export interface Chunk {
  text: string;
  spaceBefore: boolean;
}

/** Where a caption breaks best: at a sentence's end, then a clause's, then between words, last inside one. */
export type BreakKind = 'sentence' | 'clause' | 'word' | 'inside';

/** Letters of scripts written without spaces between words. */
const UNSPACED = /[\p{scx=Han}\p{scx=Hiragana}\p{scx=Katakana}]/u;
/** Punctuation a line must not start with (closing marks, commas, stops) or end with (opening marks). */
const NO_BREAK_BEFORE = /^[\p{Pe}\p{Pf}\p{Po}]/u;
const NO_BREAK_AFTER = /[\p{Ps}\p{Pi}]$/u;
const SENTENCE_END = /[.!?\u2026\u3002\uFF01\uFF1F][\p{Pe}\p{Pf}"']*$/u;
const CLAUSE_END = /[,;:\u3001\uFF0C\uFF1B\uFF1A][\p{Pe}\p{Pf}"']*$/u;
const DASH = /^[\u2013\u2014-]+$/u;

/** Made on first use: building a segmenter loads ICU data, which the job's first answer should not wait for. */
let graphemeSegmenter: Intl.Segmenter | undefined;
const letterSegments = (text: string): Intl.Segments =>
  (graphemeSegmenter ??= new Intl.Segmenter(undefined, { granularity: 'grapheme' })).segment(text);

/** Characters as a reader counts them: "é" is one, however it is encoded. */
function graphemes(text: string): number {
  return Array.from(letterSegments(text)).length;
}

/** A text cut into chunks, its white space collapsed; a "word" longer than a line is cut to lines. */
function chunksOf(text: string, language: string): Chunk[] {
  const chunks: Chunk[] = [];
  let current: Chunk | null = null;
  let spaced = false;
  let previous = '';
  for (const { segment } of new Intl.Segmenter(language, { granularity: 'word' }).segment(text)) {
    if (!segment.trim()) {
      spaced = true;
      continue;
    }
    if (!current || spaced || breaksBetween(previous, segment)) {
      if (current) chunks.push(current);
      current = { text: segment, spaceBefore: spaced && current !== null };
    } else {
      current.text += segment;
    }
    spaced = false;
    previous = segment;
  }
  if (current) chunks.push(current);
  return chunks.flatMap(cutToLines);
}

function breaksBetween(before: string, after: string): boolean {
  if (NO_BREAK_BEFORE.test(after) || NO_BREAK_AFTER.test(before)) return false;
  return UNSPACED.test(Array.from(before).at(-1) ?? '') || UNSPACED.test(Array.from(after)[0] ?? '');
}

function cutToLines(chunk: Chunk): Chunk[] {
  const letters = Array.from(letterSegments(chunk.text), (s) => s.segment);
  if (letters.length <= CAPTION_LAYOUT.maxLineCharacters) return [chunk];
  const pieces: Chunk[] = [];
  for (let at = 0; at < letters.length; at += CAPTION_LAYOUT.maxLineCharacters) {
    const text = letters.slice(at, at + CAPTION_LAYOUT.maxLineCharacters).join('');
    pieces.push({ text, spaceBefore: at === 0 && chunk.spaceBefore });
  }
  return pieces;
}

/**
 * A text's chunks with what cutting it needs, computed once: the kind of each break, and the
 * length of any run of chunks without building it.
 */
export interface ChunkedText {
  chunks: readonly Chunk[];
  /** `breaks[i]`: between chunk i - 1 and chunk i (`breaks[0]` is unused). */
  breaks: readonly BreakKind[];
  /** Characters of chunks [from, to) set on one line. */
  length(from: number, to: number): number;
  /** Chunks [from, to) joined on one line. */
  text(from: number, to: number): string;
}

export function chunkedText(text: string, language: string): ChunkedText {
  const chunks = chunksOf(text, language);
  const breaks = chunks.map((_, i) => (i === 0 ? 'inside' : breakKind(chunks[i - 1]!, chunks[i]!)));
  // ends[i]: the length of chunks [0, i) on one line, counting the space before each but the first.
  const ends = [0];
  chunks.forEach((chunk, i) => ends.push(ends[i]! + graphemes(chunk.text) + (chunk.spaceBefore ? 1 : 0)));
  return {
    chunks,
    breaks,
    length: (from, to) => (to > from ? ends[to]! - ends[from]! - (chunks[from]!.spaceBefore ? 1 : 0) : 0),
    text: (from, to) =>
      chunks
        .slice(from, to)
        .map((chunk, i) => (i > 0 && chunk.spaceBefore ? ' ' : '') + chunk.text)
        .join(''),
  };
}

function breakKind(before: Chunk, after: Chunk): BreakKind {
  if (!after.spaceBefore && !breaksBetween(before.text, after.text)) return 'inside';
  if (SENTENCE_END.test(before.text)) return 'sentence';
  if (CLAUSE_END.test(before.text) || DASH.test(before.text)) return 'clause';
  return 'word';
}

/** A break at a clause's end is taken over the most balanced one when it is at most this much longer. */
const CLAUSE_BREAK_BONUS = 8;

/**
 * Chunks [from, to) as one line, or two balanced ones (the longer as short as can be, a clause's
 * end preferred when it costs little), each at most CAPTION_LAYOUT.maxLineCharacters long; null
 * when they cannot fit in two.
 */
export function captionLines(text: ChunkedText, from: number, to: number): string[] | null {
  const max = CAPTION_LAYOUT.maxLineCharacters;
  if (text.length(from, to) <= max) return [text.text(from, to)];
  let best: { at: number; score: number } | null = null;
  for (let at = from + 1; at < to; at++) {
    const longer = Math.max(text.length(from, at), text.length(at, to));
    if (longer > max) continue;
    const kind = text.breaks[at];
    const score = longer - (kind === 'sentence' || kind === 'clause' ? CLAUSE_BREAK_BONUS : 0);
    if (!best || score < best.score) best = { at, score };
  }
  return best && [text.text(from, best.at), text.text(best.at, to)];
}
