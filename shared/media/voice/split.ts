/**
 * Cuts `text` into pieces that each measure at most `limit`, for providers that cap one request:
 * between sentences wherever possible, so each request ends on a natural pause; between words
 * when one sentence alone is over the limit; between characters only for a single "word" that is.
 * `measure` is the provider's own count (UTF-8 bytes for Google, characters for ElevenLabs).
 */
export function splitText(text: string, language: string, limit: number, measure: (s: string) => number): string[] {
  const characters = (word: string): string[] => Array.from(word);
  const words = (sentence: string): string[] => pack(segments(sentence, language, 'word'), limit, measure, characters);
  return pack(segments(text, language, 'sentence'), limit, measure, words)
    .map((piece) => piece.trim())
    .filter((piece) => piece.length > 0);
}

function segments(text: string, language: string, granularity: 'sentence' | 'word'): string[] {
  return Array.from(new Intl.Segmenter(language, { granularity }).segment(text), (s) => s.segment);
}

/** Joins consecutive parts while they fit; a part too big on its own is cut finer first. */
function pack(
  parts: readonly string[],
  limit: number,
  measure: (s: string) => number,
  cutFiner: (part: string) => string[],
): string[] {
  const pieces: string[] = [];
  let current = '';
  for (const part of parts) {
    for (const unit of measure(part) > limit ? cutFiner(part) : [part]) {
      if (current && measure(current + unit) > limit) {
        pieces.push(current);
        current = '';
      }
      current += unit;
    }
  }
  if (current) pieces.push(current);
  return pieces;
}
