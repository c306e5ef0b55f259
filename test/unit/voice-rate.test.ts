import { chooseVoice, splitRate } from '../../shared/media/voice/engine';
import { MediaError } from '../../shared/media/errors';

describe('speaking rate: the engine first, a tempo change for the rest', () => {
  test.each([
    // Google's speakingRate covers the whole range.
    [{ min: 0.25, max: 4 }, 1.25, 1.25, 1],
    [{ min: 0.25, max: 4 }, 0.8, 0.8, 1],
    // ElevenLabs' speed stops at 1.2: the last 1.25/1.2 is a tempo change.
    [{ min: 0.7, max: 1.2 }, 1.25, 1.2, 1.25 / 1.2],
    [{ min: 0.7, max: 1.2 }, 0.8, 0.8, 1],
    // Flite has no rate: all of it is a tempo change.
    [{ min: 1, max: 1 }, 0.8, 1, 0.8],
    [{ min: 1, max: 1 }, 1, 1, 1],
  ])('%j at %d: engine %d, tempo %d', (rates, rate, engine, tempo) => {
    const split = splitRate(rates, rate);
    expect(split.engine).toBe(engine);
    expect(split.tempo).toBeCloseTo(tempo, 12);
    expect(split.engine * split.tempo).toBeCloseTo(rate, 12);
  });
});

describe('choosing a voice', () => {
  const voices = { en: ['a', 'b'], fr: ['c'] };

  test('the one asked for, or the language default', () => {
    expect(chooseVoice('x', voices, 'en', 'b')).toBe('b');
    expect(chooseVoice('x', voices, 'en')).toBe('a');
    expect(chooseVoice('x', voices, 'fr')).toBe('c');
  });

  test.each([
    ['fr', 'a'],
    ['de', undefined],
    ['constructor', undefined],
  ])('refuses %s with %s', (language, asked) => {
    expect(() => chooseVoice('x', voices, language, asked)).toThrow(MediaError);
  });
});
