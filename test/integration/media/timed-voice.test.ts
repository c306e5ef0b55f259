/**
 * The voice spoken unit by unit with the local flite engine, laid on the video's timeline, and the
 * captions made from it: every time the module answers is checked against the speech measured
 * here, independently, with ffmpeg's silencedetect on the file it wrote.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ffmpegPath } from '../../../shared/media/binaries';
import { ffprobePath } from '../../../shared/media/ffprobe-binary';
import { captionCues, writeCaptionFiles, type Cue } from '../../../shared/media/captions';
import { MediaError, type MediaErrorCode } from '../../../shared/media/errors';
import type { VoiceEngine } from '../../../shared/media/voice/engine';
import { localVoiceEngine } from '../../../shared/media/voice/local';
import { speakTimed, type TimedVoice, type TimedVoiceRequest } from '../../../shared/media/voice/timed';
import { wavFile } from '../../../shared/media/voice/wav';
import { makeClip } from '../../support/media-fixtures';

const run = promisify(execFile);
/** The precision the captions promise: within 100 ms of the spoken audio. */
const TOLERANCE = 0.1;

let dir: string;
const flite = localVoiceEngine();

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'timed-voice-'));
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** speakTimed() into a fresh scratch directory, which is checked empty afterwards, whatever happened. */
async function speak(
  fields: Partial<TimedVoiceRequest>,
  engine: VoiceEngine = flite,
): Promise<TimedVoice & { scratch: string }> {
  const scratch = await mkdtemp(join(dir, 'scratch-'));
  const outPath = join(dir, `${scratch.slice(-6)}.flac`);
  try {
    const voice = await speakTimed(engine, {
      language: 'en',
      leadInSeconds: 0.5,
      videoSeconds: 20,
      outPath,
      scratchDir: scratch,
      ...fields,
    });
    return { ...voice, scratch };
  } catch (err) {
    await expect(stat(outPath)).rejects.toThrow();
    throw err;
  } finally {
    expect(await readdir(scratch)).toEqual([]);
  }
}

async function refusal(promise: Promise<unknown>, code: MediaErrorCode): Promise<MediaError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(MediaError);
  expect((err as MediaError).code).toBe(code);
  return err as MediaError;
}

/** The stretches of sound in `path`, between silences of at least `minSilence` seconds at -45 dBFS. */
async function soundSpans(path: string, minSilence: number): Promise<{ start: number; end: number }[]> {
  // Padded, so speech that runs to the last sample still ends with a silence.
  const { stderr } = await run(
    ffmpegPath(),
    [
      '-hide_banner',
      '-nostdin',
      '-nostats',
      '-i',
      path,
      '-af',
      `apad=pad_dur=1,silencedetect=n=-45dB:d=${minSilence}`,
      '-f',
      'null',
      '-',
    ],
    { maxBuffer: 16 << 20 },
  );
  const events = [...stderr.matchAll(/silence_(start|end): ([\d.]+)/g)].map((m) => ({
    kind: m[1],
    at: Number(m[2]),
  }));
  const spans: { start: number; end: number }[] = [];
  let start: number | null = events[0]?.kind === 'start' && events[0].at === 0 ? null : 0;
  for (const event of events) {
    if (event.kind === 'end') start = event.at;
    else if (start !== null) {
      spans.push({ start, end: event.at });
      start = null;
    }
  }
  return spans;
}

async function probeAudio(
  path: string,
): Promise<{ codec: string; sampleRate: number; channels: number; seconds: number }> {
  const { stdout } = await run(ffprobePath(), ['-v', 'error', '-print_format', 'json', '-show_streams', path]);
  const [stream] = JSON.parse(stdout).streams;
  return {
    codec: stream.codec_name,
    sampleRate: Number(stream.sample_rate),
    channels: stream.channels,
    seconds: Number(stream.duration),
  };
}

/** Each line's time against the sound measured at the same place. */
function expectOnSpans(voice: TimedVoice, spans: { start: number; end: number }[]): void {
  expect(spans).toHaveLength(voice.lines.length);
  voice.lines.forEach((line, i) => {
    expect(Math.abs(line.startSeconds - spans[i]!.start)).toBeLessThan(TOLERANCE);
    expect(Math.abs(line.endSeconds - spans[i]!.end)).toBeLessThan(TOLERANCE);
  });
}

describe('a continuous voice-over, sentence by sentence', () => {
  const TEXT =
    'Welcome to the launch of our new product. It is lighter than anything before it. ' +
    'Everyone who tried it loved it. It ships to every country today.';

  test('each sentence is a line, timed within 100 ms of its speech, a breath after the last', async () => {
    const voice = await speak({ text: TEXT, leadInSeconds: 0.7 });
    expect(voice.lines.map((l) => l.text)).toEqual([
      'Welcome to the launch of our new product.',
      'It is lighter than anything before it.',
      'Everyone who tried it loved it.',
      'It ships to every country today.',
    ]);
    expect(voice.lines[0]!.startSeconds).toBeCloseTo(0.7, 4);
    const spans = await soundSpans(voice.path, 0.2);
    expectOnSpans(voice, spans);
    for (let i = 1; i < spans.length; i++) {
      const gap = spans[i]!.start - spans[i - 1]!.end;
      expect(gap).toBeGreaterThan(0.2);
      expect(gap).toBeLessThan(0.4);
    }
    expect(voice.speechSeconds).toBeCloseTo(
      voice.lines.reduce((sum, l) => sum + l.endSeconds - l.startSeconds, 0),
      6,
    );
    expect(voice.lufs).toBeGreaterThan(-40);
    expect(voice.lufs).toBeLessThan(-5);
    expect(await probeAudio(voice.path)).toMatchObject({ codec: 'flac', sampleRate: 48000, channels: 1 });
  });

  test('voice_rate speaks every sentence faster, from the same lead-in', async () => {
    const sentence = 'It is lighter than anything before it.';
    const [normal, fast] = await Promise.all([speak({ text: sentence }), speak({ text: sentence, voiceRate: 1.25 })]);
    expect(fast.lines[0]!.startSeconds).toBeCloseTo(0.5, 4);
    const ratio = normal.speechSeconds / fast.speechSeconds;
    expect(ratio).toBeGreaterThan(1.15);
    expect(ratio).toBeLessThan(1.35);
  });

  test('too long for the video: voice_too_long, nothing left behind', async () => {
    const err = await refusal(speak({ text: TEXT, videoSeconds: 4 }), 'voice_too_long');
    expect(err.message).toMatch(
      /^the voice-over lasts (at least )?\d+\.\d s, which with the 0\.5 s lead-in does not fit/,
    );
  });
});

describe('a long sentence split into cues at its clauses', () => {
  const SENTENCE =
    'Our new product is faster, lighter and kinder to the planet than anything we have made before, ' +
    'and it ships to every country today.';
  let voice: TimedVoice;
  let cues: Cue[];

  beforeAll(async () => {
    voice = await speak({ text: SENTENCE });
    cues = captionCues(voice.lines, 'en');
  });

  test('each cue fits in two lines of 42 characters, and each cut is in a pause of the speech', async () => {
    expect(voice.lines).toHaveLength(1);
    expect(cues.length).toBeGreaterThan(1);
    for (const cue of cues) {
      expect(cue.lines.length).toBeLessThanOrEqual(2);
      for (const line of cue.lines) expect(line.length).toBeLessThanOrEqual(42);
    }
    expect(cues.map((c) => c.lines.join(' ')).join(' ')).toBe(SENTENCE);
    expect(cues[0]!.lines.join(' ')).toBe('Our new product is faster,');
    // Pauses as the file has them, measured here: short ones, as a voice pauses at a comma.
    const spans = await soundSpans(voice.path, 0.08);
    const silences = spans.slice(1).map((span, i) => ({ start: spans[i]!.end, end: span.start }));
    expect(Math.abs(cues[0]!.startSeconds - spans[0]!.start)).toBeLessThan(TOLERANCE);
    expect(Math.abs(cues.at(-1)!.endSeconds - spans.at(-1)!.end)).toBeLessThan(TOLERANCE);
    for (let i = 1; i < cues.length; i++) {
      const pause = silences.find((s) => Math.abs(s.start - cues[i - 1]!.endSeconds) < TOLERANCE);
      expect(pause).toBeDefined();
      expect(Math.abs(pause!.end - cues[i]!.startSeconds)).toBeLessThan(TOLERANCE);
    }
  });

  test('ffmpeg reads both sidecars, and takes the SRT as a soft track of an MP4', async () => {
    const { vtt, srt } = await writeCaptionFiles(cues, dir, 'captions-en');
    for (const file of [vtt, srt]) {
      const { stdout } = await run(ffprobePath(), [
        '-v',
        'error',
        '-show_entries',
        'packet=pts_time',
        '-of',
        'csv=p=0',
        file,
      ]);
      const starts = stdout.trim().split('\n').map(Number);
      expect(starts).toHaveLength(cues.length);
      starts.forEach((start, i) => expect(start).toBeCloseTo(cues[i]!.startSeconds, 2));
      // Decoded and encoded again, as a muxer taking it would.
      await run(ffmpegPath(), [
        '-hide_banner',
        '-nostdin',
        '-v',
        'error',
        '-xerror',
        '-i',
        file,
        '-c:s',
        'ass',
        '-f',
        'null',
        '-',
      ]);
    }
    const clip = makeClip(join(dir, 'clip.mp4'), { seconds: 9, toneHz: null, size: '160x120' });
    const subtitled = join(dir, 'subtitled.mp4');
    await run(ffmpegPath(), [
      '-hide_banner',
      '-nostdin',
      '-v',
      'error',
      '-i',
      clip,
      '-i',
      srt,
      '-map',
      '0',
      '-map',
      '1',
      '-c',
      'copy',
      '-c:s',
      'mov_text',
      '-metadata:s:s:0',
      'language=eng',
      '-y',
      subtitled,
    ]);
    const { stdout } = await run(ffprobePath(), ['-v', 'error', '-print_format', 'json', '-show_streams', subtitled]);
    const streams = JSON.parse(stdout).streams as { codec_type: string; codec_name: string }[];
    expect(streams.find((s) => s.codec_type === 'subtitle')?.codec_name).toBe('mov_text');
  });
});

describe('timed cues (voice_script)', () => {
  const LINES = ['Welcome to the launch.', 'It is lighter than anything before it.', 'It ships today.'];

  test('each line starts at its time, to within 100 ms of its speech; a long silence costs next to nothing', async () => {
    const script = [
      { startSeconds: 0.5, text: LINES[0]! },
      { startSeconds: 3.5, text: LINES[1]! },
      { startSeconds: 40, text: LINES[2]! },
    ];
    const voice = await speak({ script, videoSeconds: 45 });
    voice.lines.forEach((line, i) => {
      expect(line.text).toBe(LINES[i]);
      expect(line.startSeconds).toBeCloseTo(script[i]!.startSeconds, 4);
    });
    expectOnSpans(voice, await soundSpans(voice.path, 0.2));
    const facts = await probeAudio(voice.path);
    expect(facts.seconds).toBeGreaterThan(41);
    expect(facts.seconds).toBeLessThan(43);
    // 16-bit PCM of that length would take 96 kB a second; the speech is about 4 s of it.
    const { size } = await stat(voice.path);
    expect(size).toBeLessThan(0.2 * facts.seconds * 96000);
  });

  describe('a line that would run into the next one', () => {
    const LINE = 'It is lighter and faster than anything before it.';
    let natural: number;

    beforeAll(async () => {
      const alone = await speak({ script: [{ startSeconds: 0.5, text: LINE }] });
      const [span] = await soundSpans(alone.path, 0.2);
      natural = span!.end - span!.start;
    });

    test('is sped up by what it needs, up to 1.15x, to end with the video', async () => {
      const end = 0.5 + natural / 1.08;
      const voice = await speak({ script: [{ startSeconds: 0.5, text: LINE }], videoSeconds: end });
      const [span, ...rest] = await soundSpans(voice.path, 0.2);
      expect(rest).toHaveLength(0);
      const fitted = span!.end - span!.start;
      expect(natural / fitted).toBeGreaterThan(1.04);
      expect(natural / fitted).toBeLessThan(1.15 + 0.03);
      expect(span!.end).toBeLessThan(end + 0.03);
      expect(Math.abs(voice.lines[0]!.endSeconds - span!.end)).toBeLessThan(TOLERANCE);
    });

    test('is sped up to end as the next one starts, which keeps its time', async () => {
      const next = 0.5 + natural / 1.08;
      const voice = await speak({
        script: [
          { startSeconds: 0.5, text: LINE },
          { startSeconds: next, text: 'Then the next one.' },
        ],
      });
      const [first, second] = voice.lines;
      expect(first!.endSeconds).toBeLessThanOrEqual(next);
      expect(natural / (first!.endSeconds - first!.startSeconds)).toBeGreaterThan(1.04);
      expect(second!.startSeconds).toBeCloseTo(next, 4);
      // The two lines sound as one stretch, from the first line's time to the second one's end.
      const spans = await soundSpans(voice.path, 0.2);
      expect(spans).toHaveLength(1);
      expect(Math.abs(spans[0]!.start - 0.5)).toBeLessThan(TOLERANCE);
      expect(Math.abs(spans[0]!.end - second!.endSeconds)).toBeLessThan(TOLERANCE);
    });

    test('and beyond 1.15x, fails with voice_cue_overlap naming the line and by how much', async () => {
      const err = await refusal(
        speak({
          script: [
            { startSeconds: 0.5, text: LINE },
            { startSeconds: 0.5 + natural * 0.7, text: 'Then the next one.' },
          ],
        }),
        'voice_cue_overlap',
      );
      expect(err.message).toMatch(
        /^voice_script line 1 \(at 0\.5 s\) is \d+\.\d s too long: .* into line 2 \(at [\d.]+ s\)/,
      );
    });
  });

  test('a line starting after the video ends: voice_too_long naming it, before anything is spoken', async () => {
    let requests = 0;
    const counting: VoiceEngine = {
      ...flite,
      synthesize: (...args) => {
        requests++;
        return flite.synthesize(...args);
      },
    };
    const err = await refusal(
      speak(
        {
          script: [
            { startSeconds: 0.5, text: LINES[0]! },
            { startSeconds: 12, text: LINES[1]! },
          ],
          videoSeconds: 10,
        },
        counting,
      ),
      'voice_too_long',
    );
    expect(err.message).toBe('voice_script line 2 starts at 12 s, at or after the end of the 10 s video');
    expect(requests).toBe(0);
  });

  test('a last line that cannot end before the video does, even at 1.15x: voice_too_long naming it', async () => {
    const err = await refusal(
      speak({ script: [{ startSeconds: 1, text: LINES[1]! }], videoSeconds: 2 }),
      'voice_too_long',
    );
    expect(err.message).toMatch(
      /^voice_script line 1 \(at 1 s\) is \d+\.\d s too long: .* past the end of the 2 s video/,
    );
  });
});

describe('failures of the voice', () => {
  /** An engine that writes what `speech` gives it as a 24 kHz WAV, or throws what it throws. */
  const fake = (speech: () => Int16Array): VoiceEngine => ({
    ...flite,
    name: 'fake',
    synthesize: async (_text, _language, outPath) => {
      const samples = speech();
      await writeFile(outPath, wavFile({ sampleRate: 24000, channels: 1 }, [Buffer.from(samples.buffer)]));
    },
  });

  test('an empty text or a language the engine does not speak: voice_synthesis_failed', async () => {
    await refusal(speak({ text: '  \n ' }), 'voice_synthesis_failed');
    const err = await refusal(speak({ text: 'こんにちは。', language: 'ja' }), 'voice_synthesis_failed');
    expect(err.message).toBe('the local-flite voice engine does not speak "ja"');
  });

  test("the engine's own verdicts pass as they are; anything else is voice_synthesis_failed", async () => {
    const rejected = new MediaError('voice_rejected', 'the provider refused the text');
    await expect(
      speak(
        { text: 'Hello there.' },
        fake(() => {
          throw rejected;
        }),
      ),
    ).rejects.toBe(rejected);
    const err = await refusal(
      speak(
        { text: 'Hello there.' },
        fake(() => {
          throw new Error('socket hang up');
        }),
      ),
      'voice_synthesis_failed',
    );
    expect(err.message).toBe('the fake voice engine failed');
    expect(err.detail).toBe('Error: socket hang up');
  });

  test('a unit that comes out silent fails the voice, naming it', async () => {
    let call = 0;
    // The first sentence is a tone, the second digital silence.
    const engine = fake(() =>
      call++ === 0
        ? Int16Array.from({ length: 24000 }, (_, i) => Math.round(8000 * Math.sin(i / 10)))
        : new Int16Array(24000),
    );
    const err = await refusal(speak({ text: 'One two three. Four five six.' }, engine), 'voice_synthesis_failed');
    expect(err.message).toBe('the fake voice engine produced silence for sentence 2');
  });

  test('an aborted job stops with processing_timeout', async () => {
    const controller = new AbortController();
    controller.abort();
    await refusal(speak({ text: 'Hello there.', signal: controller.signal }), 'processing_timeout');
  });
});
