import { captionCues, type Cue } from '../../../shared/media/captions';
import type { SpokenLine } from '../../../shared/media/voice/timed';

const line = (text: string, startSeconds: number, endSeconds: number, pauses: [number, number][] = []): SpokenLine => ({
  text,
  startSeconds,
  endSeconds,
  pauses: pauses.map(([s, e]) => ({ startSeconds: s, endSeconds: e })),
});

const graphemes = (s: string): number =>
  Array.from(new Intl.Segmenter('en', { granularity: 'grapheme' }).segment(s)).length;

/** Every cue holds 1 or 2 lines of at most 42 characters, and the cues follow one another. */
function expectWellFormed(cues: Cue[]): void {
  cues.forEach((cue, i) => {
    expect(cue.lines.length).toBeGreaterThanOrEqual(1);
    expect(cue.lines.length).toBeLessThanOrEqual(2);
    for (const l of cue.lines) {
      expect(graphemes(l)).toBeLessThanOrEqual(42);
      expect(l).toBe(l.trim());
      expect(l).not.toBe('');
    }
    expect(cue.endSeconds).toBeGreaterThan(cue.startSeconds);
    if (i > 0) expect(cue.startSeconds).toBeGreaterThanOrEqual(cues[i - 1]!.endSeconds);
  });
}

const text = (cues: Cue[], separator = ' '): string => cues.map((c) => c.lines.join(separator)).join(separator);

describe('captionCues', () => {
  test('one cue per spoken line that fits, at its times, its white space collapsed', () => {
    const cues = captionCues([line('Welcome  to\nthe launch.', 0.5, 1.8), line('It ships today.', 2.1, 3.0)], 'en');
    expect(cues).toEqual([
      { startSeconds: 0.5, endSeconds: 1.8, lines: ['Welcome to the launch.'] },
      { startSeconds: 2.1, endSeconds: 3.0, lines: ['It ships today.'] },
    ]);
  });

  test('a line over 42 characters is broken in two balanced lines, at a space', () => {
    const sentence = 'The new model is lighter and faster than anything before it.'; // 60 characters
    const [cue, ...rest] = captionCues([line(sentence, 1, 4)], 'en');
    expect(rest).toHaveLength(0);
    expect(cue!.lines).toHaveLength(2);
    expect(cue!.lines.join(' ')).toBe(sentence);
    const [a, b] = cue!.lines.map(graphemes);
    expect(Math.abs(a! - b!)).toBeLessThanOrEqual(8);
  });

  test('a two-line break prefers a clause end when it costs little balance', () => {
    const [cue] = captionCues([line('We tested it for a year, and everyone who tried it loved it.', 0, 3)], 'en');
    expect(cue!.lines).toEqual(['We tested it for a year,', 'and everyone who tried it loved it.']);
  });

  test('a sentence too long for one cue is split at its clauses, each boundary in the pause there', () => {
    const sentence =
      'Our new product is faster, lighter and kinder to the planet than anything we have made before, and it ships to every country today.';
    // Pauses as a voice makes them: at the two commas, and short closures inside words.
    const spoken = line(sentence, 0.5, 7.84, [
      [2.27, 2.5],
      [4.39, 4.47],
      [5.36, 5.45],
      [5.75, 5.85],
      [6.36, 6.44],
    ]);
    const cues = captionCues([spoken], 'en');
    expectWellFormed(cues);
    expect(cues.map((c) => c.lines.join(' '))).toEqual([
      'Our new product is faster,',
      'lighter and kinder to the planet than anything we have made before,',
      'and it ships to every country today.',
    ]);
    expect(cues.map((c) => [c.startSeconds, c.endSeconds])).toEqual([
      [0.5, 2.27],
      [2.5, 5.75],
      [5.85, 7.84],
    ]);
  });

  test('the longest pause near the expected time wins over a shorter, nearer one', () => {
    const sentence = 'A first clause that runs for a good while now, then a second one that runs just as long as it.';
    // The comma falls at 46/94 of the text: about 4.9 s into 10 s. The closure at 4.82 is nearer.
    const cues = captionCues(
      [
        line(sentence, 0, 10, [
          [4.78, 4.86],
          [5.2, 5.45],
        ]),
      ],
      'en',
    );
    expect(cues).toHaveLength(2);
    expect(cues[0]!.endSeconds).toBe(5.2);
    expect(cues[1]!.startSeconds).toBe(5.45);
  });

  test('without a pause near, the cut falls where the text would be at that time', () => {
    const sentence = 'A first clause that runs for a good while now, then a second one that runs just as long as it.';
    const cues = captionCues([line(sentence, 0, 9.5, [[1, 1.2]])], 'en');
    expect(cues).toHaveLength(2);
    expect(cues[0]!.endSeconds).toBe(cues[1]!.startSeconds);
    const share = (sentence.indexOf(',') + 1) / sentence.length;
    expect(cues[0]!.endSeconds).toBeCloseTo(9.5 * share, 6);
  });

  test('a long sentence without punctuation is split between words into even cues', () => {
    const sentence =
      'It is a long sentence without any commas that goes on and on well past the limit of one cue for sure';
    const cues = captionCues([line(sentence, 2, 8)], 'en');
    expectWellFormed(cues);
    expect(cues).toHaveLength(2);
    expect(text(cues)).toBe(sentence);
    const [a, b] = cues.map((c) => graphemes(c.lines.join(' ')));
    expect(Math.abs(a! - b!)).toBeLessThan(20);
    expect(cues[0]!.startSeconds).toBe(2);
    expect(cues[1]!.endSeconds).toBe(8);
  });

  test('a word longer than a line is cut inside, and nothing else is', () => {
    const word = 'x'.repeat(50);
    const cues = captionCues([line(`See ${word} here.`, 0, 3)], 'en');
    expectWellFormed(cues);
    const lines = cues.flatMap((c) => c.lines);
    expect(lines).toContain('x'.repeat(42));
    expect(lines.join('').replace(/ /g, '')).toBe(`See${word}here.`);
  });

  test('Japanese breaks between words, never before punctuation', () => {
    const sentence =
      '今日はとても良い天気ですね、明日も晴れるでしょうか。私たちは新しい製品を発表します、それはより速くより軽く地球にもやさしいです。' +
      'この製品は来月から世界中のお店で買えるようになります、ぜひ試してみてください。';
    const cues = captionCues([line(sentence, 0, 12)], 'ja');
    expectWellFormed(cues);
    expect(cues.length).toBeGreaterThan(1);
    expect(text(cues, '')).toBe(sentence);
    for (const l of cues.flatMap((c) => c.lines)) expect(l).not.toMatch(/^[、。]/);
  });

  test('a line with nothing to read gives no cue', () => {
    expect(captionCues([line('   ', 0, 1)], 'en')).toEqual([]);
  });
});
