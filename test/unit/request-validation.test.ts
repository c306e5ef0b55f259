import { dubRequestSchema, fingerprint } from '../../shared/jobs/request';
import { fieldErrors } from '../../shared/validation/zod-errors';

const valid = { video_url: 'https://cdn.example.com/clips/intro.mp4', voice_text: 'Hello and welcome to the show.' };

function errorsOf(body: unknown) {
  const r = dubRequestSchema.safeParse(body);
  return r.success ? [] : fieldErrors(r.error, body);
}

describe('POST /pipeline/run body', () => {
  it('applies the defaults and trims the text', () => {
    const r = dubRequestSchema.parse({ ...valid, voice_text: '   Hello there   ' });
    expect(r).toEqual({
      video_url: valid.video_url,
      voice_text: 'Hello there',
      voice_language: 'en',
      music_style: 'orchestral',
      effects_preset: 'standard',
    });
  });

  it.each([
    [{ ...valid, video_url: 'not a url' }, 'video_url', 'invalid_url'],
    [{ ...valid, video_url: 'ftp://example.com/a.mp4' }, 'video_url', 'invalid_url'],
    [{ ...valid, video_url: 'https://user:pw@example.com/a.mp4' }, 'video_url', 'invalid_url'],
    [{ ...valid, video_url: 'https://example.com/a.txt' }, 'video_url', 'unsupported_extension'],
    [{ ...valid, voice_text: 'Hi' }, 'voice_text', 'too_short'],
    [{ ...valid, voice_text: 'x'.repeat(10_001) }, 'voice_text', 'too_long'],
    [{ ...valid, voice_text: "<script>alert('x')</script>" }, 'voice_text', 'markup_not_allowed'],
    [{ ...valid, voice_text: 'click javascript:alert(1) now' }, 'voice_text', 'markup_not_allowed'],
    [{ ...valid, voice_text: 'bell \u0007 ringing here' }, 'voice_text', 'invalid_characters'],
    [{ ...valid, voice_language: 'xx' }, 'voice_language', 'unsupported_value'],
    [{ ...valid, music_style: 'polka' }, 'music_style', 'unsupported_value'],
    [{ ...valid, effects_preset: 'loud' }, 'effects_preset', 'unsupported_value'],
    [{ ...valid, extra: 1 }, 'extra', 'unknown_field'],
    [{ voice_text: valid.voice_text }, 'video_url', 'required'],
    [{ ...valid, voice_text: 42 }, 'voice_text', 'invalid_type'],
  ])('refuses %j with %s/%s', (body, field, code) => {
    expect(errorsOf(body)).toContainEqual(expect.objectContaining({ field, code }));
  });

  it('reports one entry per bad field', () => {
    const errors = errorsOf({ video_url: 'x', voice_text: 'y', voice_language: 'zz' });
    expect(errors.map((e) => e.field).sort()).toEqual(['video_url', 'voice_language', 'voice_text']);
  });

  it('fingerprints the request, not its key order', () => {
    const a = dubRequestSchema.parse(valid);
    const b = dubRequestSchema.parse({ voice_text: valid.voice_text, video_url: valid.video_url });
    expect(fingerprint(a)).toBe(fingerprint(b));
    expect(fingerprint(a)).not.toBe(fingerprint(dubRequestSchema.parse({ ...valid, music_style: 'jazz' })));
  });
});
