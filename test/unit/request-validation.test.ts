import { fingerprint, parseJobRequest, spokenTracks, type JobRequest } from '../../shared/jobs/request';

const valid = { video_url: 'https://cdn.example.com/clips/intro.mp4', voice_text: 'Hello and welcome to the show.' };

function errorsOf(body: Record<string, unknown>) {
  const r = parseJobRequest(body);
  return r.ok ? [] : r.errors;
}

function parsed(body: Record<string, unknown>): JobRequest {
  const r = parseJobRequest(body);
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return r.request;
}

describe('POST /pipeline/run body: dub (the default recipe)', () => {
  it('applies the defaults and trims the text', () => {
    expect(parsed({ ...valid, voice_text: '   Hello there   ' })).toEqual({
      recipe: 'dub',
      video_url: valid.video_url,
      voice_text: 'Hello there',
      voice_language: 'en',
      voice_offset_seconds: 0.5,
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
    [{ ...valid, original_audio: 'mute' }, 'original_audio', 'unsupported_value'],
    [{ ...valid, original_audio: 'DUCK' }, 'original_audio', 'unsupported_value'],
    [{ ...valid, original_audio: true }, 'original_audio', 'unsupported_value'],
    [{ ...valid, effects_preset: 'loud' }, 'effects_preset', 'unsupported_value'],
    [{ ...valid, voice_rate: 0.79 }, 'voice_rate', 'too_short'],
    [{ ...valid, voice_rate: 1.26 }, 'voice_rate', 'too_long'],
    [{ ...valid, voice_rate: '1.1' }, 'voice_rate', 'invalid_type'],
    [{ ...valid, voice_id: '' }, 'voice_id', 'too_short'],
    [{ ...valid, voice_id: 'v'.repeat(101) }, 'voice_id', 'too_long'],
    [{ ...valid, voice_id: 7 }, 'voice_id', 'invalid_type'],
    [{ ...valid, voice_offset_seconds: -1 }, 'voice_offset_seconds', 'too_short'],
    [{ ...valid, extra: 1 }, 'extra', 'unknown_field'],
    [{ ...valid, format: 'mp3' }, 'format', 'unknown_field'],
    [{ voice_text: valid.voice_text }, 'video_url', 'required'],
    [{ ...valid, voice_text: 42 }, 'voice_text', 'invalid_type'],
    [{ ...valid, recipe: 'karaoke' }, 'recipe', 'unsupported_value'],
  ])('refuses %j with %s/%s', (body, field, code) => {
    expect(errorsOf(body)).toContainEqual(expect.objectContaining({ field, code }));
  });

  it.each(['replace', 'duck', 'keep'] as const)('takes original_audio %s', (mode) => {
    expect(parsed({ ...valid, original_audio: mode })).toMatchObject({ original_audio: mode });
  });

  it('leaves original_audio absent when not sent (replace), so such requests fingerprint as before', () => {
    expect(parsed(valid)).not.toHaveProperty('original_audio');
    expect(fingerprint(parsed(valid))).not.toBe(fingerprint(parsed({ ...valid, original_audio: 'duck' })));
  });

  it.each([0.8, 1, 1.1, 1.25])('takes voice_rate %d', (rate) => {
    expect(parsed({ ...valid, voice_rate: rate })).toMatchObject({ voice_rate: rate });
  });

  it('takes a voice_id as sent, trimmed (the catalogue is checked at submit), and leaves both absent when not sent', () => {
    expect(parsed({ ...valid, voice_id: ' fr-FR-Wavenet-B ' })).toMatchObject({ voice_id: 'fr-FR-Wavenet-B' });
    expect(parsed(valid)).not.toHaveProperty('voice_id');
    expect(parsed(valid)).not.toHaveProperty('voice_rate');
    expect(fingerprint(parsed(valid))).not.toBe(fingerprint(parsed({ ...valid, voice_rate: 1.1 })));
    expect(fingerprint(parsed(valid))).not.toBe(fingerprint(parsed({ ...valid, voice_id: 'rms' })));
  });

  it('takes music_style none, with or without the original sound', () => {
    expect(parsed({ ...valid, music_style: 'none' })).toMatchObject({ music_style: 'none' });
    expect(parsed({ ...valid, music_style: 'none', original_audio: 'keep' })).toMatchObject({
      music_style: 'none',
      original_audio: 'keep',
    });
  });

  it('reports one entry per bad field', () => {
    const errors = errorsOf({ video_url: 'x', voice_text: 'y', voice_language: 'zz' });
    expect(errors.map((e) => e.field).sort()).toEqual(['video_url', 'voice_language', 'voice_text']);
  });

  it('fingerprints the request, not its key order', () => {
    const a = parsed(valid);
    const b = parsed({ voice_text: valid.voice_text, video_url: valid.video_url });
    expect(fingerprint(a)).toBe(fingerprint(b));
    expect(fingerprint(a)).not.toBe(fingerprint(parsed({ ...valid, music_style: 'jazz' })));
  });
});

describe('extract_audio', () => {
  const base = { recipe: 'extract_audio', video_url: valid.video_url };

  it('defaults to M4A at the standard preset', () => {
    expect(parsed(base)).toEqual({ ...base, format: 'm4a', effects_preset: 'standard' });
  });

  it.each([
    [{ ...base, format: 'ogg' }, 'format', 'unsupported_value'],
    [{ ...base, voice_text: valid.voice_text }, 'voice_text', 'unknown_field'],
    [{ ...base, original_audio: 'keep' }, 'original_audio', 'unknown_field'],
    [{ ...base, voice_rate: 1.1 }, 'voice_rate', 'unknown_field'],
    [{ recipe: 'extract_audio' }, 'video_url', 'required'],
  ])('refuses %j with %s/%s', (body, field, code) => {
    expect(errorsOf(body)).toContainEqual(expect.objectContaining({ field, code }));
  });
});

describe('still', () => {
  const base = { recipe: 'still', image_url: 'https://cdn.example.com/cover.png', duration_seconds: 30 };

  it('needs no voice, and takes one', () => {
    expect(parsed(base)).toMatchObject({ ...base, resolution: '1080p', music_style: 'orchestral' });
    expect(parsed({ ...base, voice_text: 'Now playing.' })).toMatchObject({ voice_text: 'Now playing.' });
  });

  it.each([
    [{ ...base, image_url: 'https://cdn.example.com/cover.mp4' }, 'image_url', 'unsupported_extension'],
    [{ ...base, duration_seconds: 0 }, 'duration_seconds', 'too_short'],
    [{ ...base, duration_seconds: 7200 }, 'duration_seconds', 'too_long'],
    [{ ...base, duration_seconds: '30' }, 'duration_seconds', 'invalid_type'],
    [{ ...base, resolution: '4k' }, 'resolution', 'unsupported_value'],
    // A still has no sound of its own to keep, and without music and voice it would be silent.
    [{ ...base, original_audio: 'duck' }, 'original_audio', 'unknown_field'],
    [{ ...base, music_style: 'none' }, 'music_style', 'unsupported_value'],
    [{ ...base, video_url: valid.video_url }, 'video_url', 'unknown_field'],
    [{ recipe: 'still', duration_seconds: 5 }, 'image_url', 'required'],
  ])('refuses %j with %s/%s', (body, field, code) => {
    expect(errorsOf(body)).toContainEqual(expect.objectContaining({ field, code }));
  });
});

describe('metadata, on every recipe', () => {
  const bodies = {
    dub: valid,
    extract_audio: { recipe: 'extract_audio', video_url: valid.video_url },
    still: { recipe: 'still', image_url: 'https://cdn.example.com/cover.png', duration_seconds: 30 },
  };
  const many = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, 'v']));

  it.each(Object.entries(bodies))('%s: takes up to 16 string values and keeps them as given', (_recipe, body) => {
    const metadata = { order_id: 'PO-1', 'campaign.name': 'Spring', 'A-b_c.9': '', ...many(13) };
    expect(parsed({ ...body, metadata }).metadata).toEqual(metadata);
    expect(parsed(body).metadata).toBeUndefined();
  });

  it.each(Object.entries(bodies))('%s: refuses bad metadata with one error per problem', (_recipe, body) => {
    const errors = errorsOf({
      ...body,
      metadata: { 'bad key': 'x', n: 5, long: 'x'.repeat(501), ['k'.repeat(41)]: 'x', ok: 'fine' },
    });
    expect(errors).toEqual([
      { field: 'metadata.bad key', code: 'invalid_key', message: expect.stringMatching(/letters, digits/) },
      { field: 'metadata.n', code: 'invalid_type', message: 'metadata values must be strings.' },
      { field: 'metadata.long', code: 'too_long', message: expect.stringMatching(/500 characters/) },
      { field: `metadata.${'k'.repeat(41)}`, code: 'invalid_key', message: expect.any(String) },
    ]);
  });

  it.each([
    [many(17), 'metadata', 'too_many_keys'],
    [['a', 'b'], 'metadata', 'invalid_type'],
    ['order=1', 'metadata', 'invalid_type'],
    [null, 'metadata', 'invalid_type'],
    [JSON.parse('{"__proto__": "x"}'), 'metadata.__proto__', 'invalid_key'],
  ])('refuses metadata %j with %s/%s', (metadata, field, code) => {
    expect(errorsOf({ ...valid, metadata })).toContainEqual(expect.objectContaining({ field, code }));
  });

  it('counts the 2 KB limit in bytes of JSON', () => {
    // Four values of 500 ASCII characters are 2033 bytes as JSON; of 300 "é" (two bytes each), 2433.
    const ascii = Object.fromEntries(Array.from({ length: 4 }, (_, i) => [`k${i}`, 'a'.repeat(500)]));
    expect(errorsOf({ ...valid, metadata: ascii })).toEqual([]);
    const wide = Object.fromEntries(Array.from({ length: 4 }, (_, i) => [`k${i}`, 'é'.repeat(300)]));
    expect(errorsOf({ ...valid, metadata: wide })).toEqual([
      expect.objectContaining({ field: 'metadata', code: 'too_large' }),
    ]);
  });

  it('is part of the fingerprint, whatever the order of its keys', () => {
    const a = parsed({ ...valid, metadata: { a: '1', b: '2' } });
    const b = parsed({ ...valid, metadata: { b: '2', a: '1' } });
    expect(fingerprint(a)).toBe(fingerprint(b));
    expect(fingerprint(a)).not.toBe(fingerprint(parsed({ ...valid, metadata: { a: '1', b: '3' } })));
    expect(fingerprint(a)).not.toBe(fingerprint(parsed(valid)));
  });
});

describe('POST /pipeline/run body: timed scripts, tracks and captions', () => {
  const video = { video_url: valid.video_url };
  const script = [
    { start_seconds: 1, text: 'Welcome to the harbour.' },
    { start_seconds: 6.5, text: 'The boats go out before dawn.' },
  ];
  const tracks = [
    { language: 'en', text: 'Welcome to the harbour.' },
    { language: 'fr', script, voice_id: 'slt' },
  ];

  it('takes a script, tracks and captions, and leaves absent what was not sent', () => {
    expect(parsed({ ...video, voice_script: script, captions: true })).toMatchObject({
      voice_script: script,
      captions: true,
    });
    const request = parsed({ ...video, voice_tracks: tracks, burn_captions: true });
    expect(request).toMatchObject({ voice_tracks: tracks, burn_captions: true });
    expect(request).not.toHaveProperty('captions');
    expect(request).not.toHaveProperty('voice_text');
    expect(
      parsed({ recipe: 'still', image_url: 'https://e.com/a.png', duration_seconds: 10, voice_script: script }),
    ).toMatchObject({
      voice_script: script,
    });
  });

  it('lists the tracks as the engine speaks them, the shorthand as one track', () => {
    expect(spokenTracks(parsed({ ...video, voice_tracks: tracks }))).toEqual([
      { field: 'voice_tracks.0', language: 'en', text: 'Welcome to the harbour.' },
      {
        field: 'voice_tracks.1',
        language: 'fr',
        voiceId: 'slt',
        script: script.map((l) => ({ startSeconds: l.start_seconds, text: l.text })),
      },
    ]);
    expect(spokenTracks(parsed({ ...valid, voice_language: 'de', voice_id: 'awb' }))).toEqual([
      { field: 'voice_text', language: 'de', voiceId: 'awb', text: valid.voice_text },
    ]);
    expect(spokenTracks(parsed({ recipe: 'still', image_url: 'https://e.com/a.png', duration_seconds: 10 }))).toEqual(
      [],
    );
  });

  it.each([
    [{ ...video }, 'voice_text', 'required'],
    [{ ...valid, voice_script: script }, 'voice_script', 'conflicting_fields'],
    [{ ...video, voice_script: script, voice_tracks: tracks }, 'voice_tracks', 'conflicting_fields'],
    [{ ...video, voice_tracks: tracks, voice_language: 'fr' }, 'voice_language', 'conflicting_fields'],
    [{ ...video, voice_tracks: tracks, voice_id: 'slt' }, 'voice_id', 'conflicting_fields'],
    [{ ...video, voice_script: [] }, 'voice_script', 'too_short'],
    [{ ...video, voice_script: [{ start_seconds: -1, text: 'Hello.' }] }, 'voice_script.0.start_seconds', 'too_short'],
    [{ ...video, voice_script: [{ start_seconds: 1, text: '' }] }, 'voice_script.0.text', 'too_short'],
    [
      { ...video, voice_script: [{ start_seconds: 1, text: '<b>hi</b>' }] },
      'voice_script.0.text',
      'markup_not_allowed',
    ],
    [{ ...video, voice_script: [{ start_seconds: 1, text: 'Hi', speed: 2 }] }, 'voice_script.0.speed', 'unknown_field'],
    [{ ...video, voice_script: [script[1], script[0]] }, 'voice_script.1.start_seconds', 'unordered_cues'],
    [{ ...video, voice_script: [script[0], script[0]] }, 'voice_script.1.start_seconds', 'unordered_cues'],
    [
      { ...video, voice_script: Array.from({ length: 11 }, (_, i) => ({ start_seconds: i, text: 'x'.repeat(1000) })) },
      'voice_script',
      'too_long',
    ],
    [{ ...video, voice_tracks: [] }, 'voice_tracks', 'too_short'],
    [{ ...video, voice_tracks: Array.from({ length: 9 }, () => tracks[0]) }, 'voice_tracks', 'too_long'],
    [{ ...video, voice_tracks: [tracks[0], { ...tracks[0] }] }, 'voice_tracks.1.language', 'duplicate_value'],
    [{ ...video, voice_tracks: [{ language: 'en' }] }, 'voice_tracks.0', 'voice_required'],
    [
      { ...video, voice_tracks: [{ language: 'en', text: 'Hello there.', script }] },
      'voice_tracks.0',
      'voice_required',
    ],
    [
      { ...video, voice_tracks: [{ language: 'xx', text: 'Hello there.' }] },
      'voice_tracks.0.language',
      'unsupported_value',
    ],
    [{ ...video, voice_tracks: [{ text: 'Hello there.' }] }, 'voice_tracks.0.language', 'required'],
    [{ ...valid, captions: 'yes' }, 'captions', 'invalid_type'],
    [{ ...valid, captions: false, burn_captions: true }, 'burn_captions', 'conflicting_fields'],
    [
      { recipe: 'still', image_url: 'https://e.com/a.png', duration_seconds: 10, captions: true },
      'captions',
      'voice_required',
    ],
    [{ recipe: 'extract_audio', ...video, captions: true }, 'captions', 'unknown_field'],
  ])('refuses %j with %s/%s', (body, field, code) => {
    expect(errorsOf(body)).toContainEqual(expect.objectContaining({ field, code }));
  });
});
