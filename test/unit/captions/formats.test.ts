import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { toSrt, toWebVtt, writeCaptionFiles, type Cue } from '../../../shared/media/captions';

const cues: Cue[] = [
  { startSeconds: 0.5, endSeconds: 2.2704, lines: ['Welcome to the launch.'] },
  { startSeconds: 3661.5, endSeconds: 3663.0006, lines: ['Salt & pepper <b>bold</b>', 'ends --> here'] },
];

describe('WebVTT', () => {
  test('a header, then each cue: HH:MM:SS.mmm --> HH:MM:SS.mmm and its lines, a blank line between', () => {
    expect(toWebVtt(cues)).toBe(
      'WEBVTT\n\n' +
        '00:00:00.500 --> 00:00:02.270\nWelcome to the launch.\n\n' +
        '01:01:01.500 --> 01:01:03.001\nSalt &amp; pepper &lt;b&gt;bold&lt;/b&gt;\nends --&gt; here\n',
    );
  });

  test('no cues: the header alone', () => {
    expect(toWebVtt([])).toBe('WEBVTT\n');
  });
});

describe('SubRip', () => {
  test('numbered from 1, HH:MM:SS,mmm, no arrow left in the text', () => {
    expect(toSrt(cues)).toBe(
      '1\n00:00:00,500 --> 00:00:02,270\nWelcome to the launch.\n\n' +
        '2\n01:01:01,500 --> 01:01:03,001\nSalt & pepper <b>bold</b>\nends -> here\n',
    );
  });

  test('a longer arrow is shortened too', () => {
    expect(toSrt([{ startSeconds: 0, endSeconds: 1, lines: ['a ---> b'] }])).toContain('a -> b\n');
  });
});

test('a cue shorter than a millisecond still ends after it starts', () => {
  const [, timing] = toSrt([{ startSeconds: 1.0001, endSeconds: 1.0002, lines: ['x'] }]).split('\n');
  expect(timing).toBe('00:00:01,000 --> 00:00:01,001');
});

test('writeCaptionFiles writes <base>.vtt and <base>.srt as UTF-8', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'captions-'));
  try {
    const accented = [{ startSeconds: 0, endSeconds: 1, lines: ['Déjà vu, café.'] }];
    const files = await writeCaptionFiles(accented, dir, 'captions-fr');
    expect(files).toEqual({ vtt: join(dir, 'captions-fr.vtt'), srt: join(dir, 'captions-fr.srt') });
    expect(await readFile(files.vtt, 'utf8')).toBe(toWebVtt(accented));
    expect(await readFile(files.srt, 'utf8')).toBe(toSrt(accented));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
