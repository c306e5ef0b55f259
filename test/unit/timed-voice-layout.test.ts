import { MediaError } from '../../shared/media/errors';
import {
  checkScriptStarts,
  checkTextFits,
  cueSpeedUp,
  place,
  SENTENCE_PAUSE_SECONDS,
  textOnsets,
  type SpokenUnit,
} from '../../shared/media/voice/timed-layout';

/** A unit of `seconds` whose speech runs from `onset` to `offset`. */
const unit = (seconds: number, onset: number, offset: number, pauses: [number, number][] = []): SpokenUnit => ({
  text: `unit ${seconds}`,
  path: `/scratch/${seconds}.wav`,
  seconds,
  span: {
    onsetSeconds: onset,
    offsetSeconds: offset,
    pauses: pauses.map(([s, e]) => ({ startSeconds: s, endSeconds: e })),
  },
});

function thrown(work: () => unknown): MediaError {
  try {
    work();
  } catch (err) {
    expect(err).toBeInstanceOf(MediaError);
    return err as MediaError;
  }
  throw new Error('nothing was thrown');
}

describe('a continuous voice-over', () => {
  test('starts at the lead-in, each sentence a pause after the last one ends', () => {
    const units = [unit(2, 0.2, 1.7), unit(1.5, 0.1, 1.3)];
    const onsets = textOnsets(units, 0.5);
    expect(onsets).toEqual([0.5, 0.5 + 1.5 + SENTENCE_PAUSE_SECONDS]);
    const { lines, pieces } = place(units, onsets);
    expect(lines.map((l) => [l.startSeconds, l.endSeconds])).toEqual([
      [0.5, 2],
      [2.3, 3.5],
    ]);
    // Silence trimmed to short margins around the speech, pieces in order and apart.
    expect(pieces[0]).toEqual({ path: '/scratch/2.wav', from: 0.18 * 48000, to: 1.75 * 48000, at: 0.48 * 48000 });
    expect(pieces[1]!.at).toBeGreaterThanOrEqual(pieces[0]!.at + pieces[0]!.to - pieces[0]!.from);
  });

  test('pauses move with their line; those outside its speech are dropped', () => {
    const { lines } = place([unit(3, 0.5, 2.5, [[1, 1.2]])], [4]);
    expect(lines[0]!.pauses).toEqual([{ startSeconds: 4.5, endSeconds: 4.7 }]);
  });

  test('too long for the video: refused with its length, "at least" while sentences are still to come', () => {
    const units = [unit(4, 0, 4), unit(4, 0, 4)];
    expect(() => checkTextFits(units, true, 0.5, 9)).not.toThrow();
    const partial = thrown(() => checkTextFits(units, false, 0.5, 8));
    expect(partial.code).toBe('voice_too_long');
    expect(partial.message).toBe(
      'the voice-over lasts at least 8.3 s, which with the 0.5 s lead-in does not fit in the 8.0 s video: shorten the text or send a longer video',
    );
    expect(thrown(() => checkTextFits(units, true, 0.5, 8)).message).toMatch(/^the voice-over lasts 8\.3 s/);
  });
});

describe('timed lines', () => {
  const script = [{ startSeconds: 0.5 }, { startSeconds: 4 }];

  test('a line that fits is played as spoken', () => {
    expect(cueSpeedUp(script, 0, 3.5, 10)).toBe(1);
  });

  test('a line a little too long is sped up just past the exact fit, never beyond 1.15x', () => {
    const factor = cueSpeedUp(script, 0, 3.5 * 1.1, 10);
    expect(factor).toBeGreaterThan(1.1);
    expect(factor).toBeLessThanOrEqual(1.15);
    expect(cueSpeedUp(script, 0, 3.5 * 1.149, 10)).toBe(1.15);
  });

  test('beyond 1.15x: voice_cue_overlap naming the line, its start and by how much', () => {
    const err = thrown(() => cueSpeedUp(script, 0, 5, 10));
    expect(err.code).toBe('voice_cue_overlap');
    // 5 s at 1.15x is 4.35 s, in a slot of 3.5 s.
    expect(err.message).toBe(
      'voice_script line 1 (at 0.5 s) is 0.9 s too long: spoken, it lasts 5.0 s, and sped up 1.15x it would still run ' +
        '0.9 s into line 2 (at 4 s); shorten it or start line 2 later',
    );
  });

  test('the last line must end with the video: voice_too_long', () => {
    const err = thrown(() => cueSpeedUp(script, 1, 7, 10));
    expect(err.code).toBe('voice_too_long');
    expect(err.message).toMatch(
      /^voice_script line 2 \(at 4 s\) is 0\.1 s too long: .* past the end of the 10 s video/,
    );
  });

  test('a line starting at or after the end of the video is refused before anything is spoken', () => {
    expect(() => checkScriptStarts(script, 4.1)).not.toThrow();
    const err = thrown(() => checkScriptStarts(script, 4));
    expect(err.code).toBe('voice_too_long');
    expect(err.message).toBe('voice_script line 2 starts at 4 s, at or after the end of the 4 s video');
  });

  test('pieces never overlap: margins give way first, then the earlier speech', () => {
    // The first line's speech ends 10 ms after the second one starts.
    const { pieces, lines } = place([unit(2, 0.1, 1.61), unit(1, 0.1, 0.9)], [0.5, 2]);
    const [a, b] = pieces;
    expect(a!.at + a!.to - a!.from).toBe(b!.at);
    expect(lines[1]!.startSeconds).toBe(2);
    expect(lines[0]!.endSeconds).toBe(2);
  });

  test('a line at 0 loses the margin before its onset, not its place', () => {
    const { pieces, lines } = place([unit(1, 0.01, 0.8)], [0]);
    expect(pieces[0]!.at).toBe(0);
    expect(lines[0]!.startSeconds).toBe(0);
  });
});
