import { SAMPLE_RATE } from '../audio-format';
import { MediaError } from '../errors';
import { MAX_CUE_SPEEDUP } from '../spoken-limits';
import type { AudibleSpan } from './audible';
import type { SpokenLine } from './timed';

/** Silence from one sentence's last sound to the next one's first: a speaker's breath, not a stop. */
export const SENTENCE_PAUSE_SECONDS = 0.3;
/**
 * Sound kept before an onset and after an offset: the soft start of a consonant and the decay of
 * the last syllable lie under the detector's threshold and would be clipped without it.
 */
const LEAD_SECONDS = 0.02;
const TAIL_SECONDS = 0.05;
/**
 * A line is sped up this much beyond the exact fit: a tempo change does not shorten speech by
 * its factor to the millisecond, and the envelope is measured in 10 ms windows.
 */
const FIT_MARGIN = 1.02;

/** One synthesized unit (a sentence, or a timed line) at its final tempo, measured. */
export interface SpokenUnit {
  text: string;
  /** 16-bit PCM WAV, any rate. */
  path: string;
  seconds: number;
  span: AudibleSpan;
}

/** The part of a unit that is heard, and where on the timeline; all in samples at SAMPLE_RATE. */
export interface Piece {
  path: string;
  from: number;
  to: number;
  /** Where `from` lands. */
  at: number;
}

export function speechSeconds(unit: SpokenUnit): number {
  return unit.span.offsetSeconds - unit.span.onsetSeconds;
}

/** A continuous voice-over: the first onset at the lead-in, each next one a sentence pause after the last offset. */
export function textOnsets(units: readonly SpokenUnit[], leadInSeconds: number): number[] {
  const onsets: number[] = [];
  let at = leadInSeconds;
  for (const unit of units) {
    onsets.push(at);
    at += speechSeconds(unit) + SENTENCE_PAUSE_SECONDS;
  }
  return onsets;
}

/**
 * Refuses a voice-over that cannot fit, from the units spoken so far (`complete` false) or all of
 * them: what is spoken already is a lower bound, so a text far too long fails before the rest of
 * it is paid for.
 */
export function checkTextFits(
  spoken: readonly SpokenUnit[],
  complete: boolean,
  leadInSeconds: number,
  videoSeconds: number,
): void {
  if (spoken.length === 0) return;
  const seconds =
    spoken.reduce((sum, unit) => sum + speechSeconds(unit), 0) + (spoken.length - 1) * SENTENCE_PAUSE_SECONDS;
  if (leadInSeconds + seconds <= videoSeconds) return;
  throw new MediaError(
    'voice_too_long',
    `the voice-over lasts ${complete ? '' : 'at least '}${seconds.toFixed(1)} s, which with the ${leadInSeconds} s lead-in ` +
      `does not fit in the ${videoSeconds.toFixed(1)} s video: shorten the text or send a longer video`,
  );
}

/** Refuses, before anything is spoken, a timed line that starts where the video has ended. */
export function checkScriptStarts(script: readonly { startSeconds: number }[], videoSeconds: number): void {
  script.forEach((line, i) => {
    if (line.startSeconds >= videoSeconds) {
      throw new MediaError(
        'voice_too_long',
        `voice_script line ${i + 1} starts at ${seconds(line.startSeconds)}, at or after the end of the ${seconds(videoSeconds)} video`,
      );
    }
  });
}

/**
 * How much faster timed line `index` must be played to end by the next line's start (the video's
 * end for the last): 1 when it fits as spoken. Beyond MAX_CUE_SPEEDUP the line is refused:
 * `voice_cue_overlap`, or `voice_too_long` for the last line.
 */
export function cueSpeedUp(
  script: readonly { startSeconds: number }[],
  index: number,
  speech: number,
  videoSeconds: number,
): number {
  const line = script[index]!;
  const next = script[index + 1];
  const room = (next?.startSeconds ?? videoSeconds) - line.startSeconds;
  const needed = speech / room;
  if (needed <= 1) return 1;
  if (needed <= MAX_CUE_SPEEDUP) return Math.min(MAX_CUE_SPEEDUP, needed * FIT_MARGIN);
  const over = Math.ceil((speech / MAX_CUE_SPEEDUP - room) * 10) / 10;
  const name = `voice_script line ${index + 1} (at ${seconds(line.startSeconds)})`;
  const spoken = `spoken, it lasts ${speech.toFixed(1)} s, and sped up ${MAX_CUE_SPEEDUP}x it would still run ${over.toFixed(1)} s`;
  if (next) {
    throw new MediaError(
      'voice_cue_overlap',
      `${name} is ${over.toFixed(1)} s too long: ${spoken} into line ${index + 2} (at ${seconds(next.startSeconds)}); ` +
        `shorten it or start line ${index + 2} later`,
    );
  }
  throw new MediaError(
    'voice_too_long',
    `${name} is ${over.toFixed(1)} s too long: ${spoken} past the end of the ${seconds(videoSeconds)} video; ` +
      'shorten it or start it earlier',
  );
}

/**
 * Each unit's audible part placed with its onset at `onsets[i]` (seconds on the timeline), and
 * where each is heard. Where one piece would run into the next, the margins give way first (the
 * earlier tail, then the later lead), then the earlier speech's last milliseconds: pieces never
 * overlap, so they can be laid end to end.
 */
export function place(
  units: readonly SpokenUnit[],
  onsets: readonly number[],
): { pieces: Piece[]; lines: SpokenLine[] } {
  const pieces: (Piece & { onset: number; offset: number })[] = [];
  units.forEach((unit, i) => {
    const length = samples(unit.seconds);
    const onset = samples(unit.span.onsetSeconds);
    const offset = Math.min(length, samples(unit.span.offsetSeconds));
    let from = Math.max(0, onset - samples(LEAD_SECONDS));
    let at = samples(onsets[i]!) - (onset - from);
    if (at < 0) {
      from -= at;
      at = 0;
    }
    const prev = pieces.at(-1);
    if (prev) {
      let overlap = prev.at + (prev.to - prev.from) - at;
      const tail = Math.min(Math.max(0, overlap), Math.max(0, prev.to - prev.offset));
      prev.to -= tail;
      overlap -= tail;
      const lead = Math.min(Math.max(0, overlap), onset - from);
      from += lead;
      at += lead;
      overlap -= lead;
      if (overlap > 0) prev.to -= overlap;
    }
    pieces.push({ path: unit.path, from, to: Math.min(length, offset + samples(TAIL_SECONDS)), at, onset, offset });
  });

  const lines = pieces.map((piece, i): SpokenLine => {
    const shift = (within: number): number => (piece.at - piece.from + within) / SAMPLE_RATE;
    const startSeconds = shift(piece.onset);
    const endSeconds = shift(Math.min(piece.offset, piece.to));
    const pauses = units[i]!.span.pauses.map((p) => ({
      startSeconds: shift(samples(p.startSeconds)),
      endSeconds: shift(samples(p.endSeconds)),
    })).filter((p) => p.startSeconds > startSeconds && p.endSeconds < endSeconds);
    return { text: units[i]!.text, startSeconds, endSeconds, pauses };
  });
  return { pieces: pieces.map(({ path, from, to, at }) => ({ path, from, to, at })), lines };
}

function samples(s: number): number {
  return Math.round(s * SAMPLE_RATE);
}

function seconds(s: number): string {
  return `${Number(s.toFixed(2))} s`;
}
