import { backoffDelay, retryAfterMs } from '../../shared/media/voice/retry';
import { splitText } from '../../shared/media/voice/split';
import { readWav, wavFile } from '../../shared/media/voice/wav';

const chars = (s: string): number => s.length;
const bytes = (s: string): number => Buffer.byteLength(s, 'utf8');

describe('splitText', () => {
  test('leaves a text under the limit whole', () => {
    expect(splitText('One. Two. Three.', 'en', 100, chars)).toEqual(['One. Two. Three.']);
  });

  test('cuts between sentences, as many per piece as fit', () => {
    expect(splitText('One one. Two two. Three three. Four.', 'en', 20, chars)).toEqual([
      'One one. Two two.',
      'Three three. Four.',
    ]);
  });

  test('cuts a sentence too long on its own between words', () => {
    const pieces = splitText('Short. This sentence alone is far longer than the limit allows. End.', 'en', 24, chars);
    for (const piece of pieces) expect(piece.length).toBeLessThanOrEqual(24);
    expect(pieces[0]).toBe('Short.');
    expect(pieces.join(' ')).toBe('Short. This sentence alone is far longer than the limit allows. End.');
  });

  test('cuts a single overlong word between characters', () => {
    expect(splitText('abcdefghij', 'en', 4, chars)).toEqual(['abcd', 'efgh', 'ij']);
  });

  test('counts what the provider counts: UTF-8 bytes for CJK text', () => {
    // 6 bytes + 3 per 。
    const pieces = splitText('你好。世界。再见。', 'zh', 12, bytes);
    expect(pieces).toEqual(['你好。', '世界。', '再见。']);
    expect(splitText('你好。世界。再见。', 'zh', 18, bytes)).toEqual(['你好。世界。', '再见。']);
  });

  test('never splits a character made of two UTF-16 units', () => {
    const pieces = splitText('😀😀😀', 'en', 4, bytes);
    expect(pieces).toEqual(['😀', '😀', '😀']);
  });

  test('whitespace alone makes no piece', () => {
    expect(splitText('  \n ', 'en', 10, chars)).toEqual([]);
  });
});

describe('wav', () => {
  test('writes a canonical header and reads back what it wrote, pieces joined', () => {
    const file = wavFile({ sampleRate: 44_100, channels: 1 }, [Buffer.from([1, 0, 2, 0]), Buffer.from([3, 0])]);
    expect(file.length).toBe(44 + 6);
    expect(file.toString('ascii', 0, 4)).toBe('RIFF');
    expect(file.readUInt32LE(4)).toBe(36 + 6);
    expect(file.readUInt32LE(28)).toBe(88_200);
    expect(readWav(file)).toEqual({
      format: { sampleRate: 44_100, channels: 1 },
      pcm: Buffer.from([1, 0, 2, 0, 3, 0]),
    });
  });

  test('drops a torn last sample so later pieces stay aligned', () => {
    const file = wavFile({ sampleRate: 8000, channels: 1 }, [Buffer.from([1, 0, 2]), Buffer.from([3, 0])]);
    expect(readWav(file).pcm).toEqual(Buffer.from([1, 0, 3, 0]));
  });

  test('walks past extra chunks and reads a streaming data size to the end', () => {
    const plain = wavFile({ sampleRate: 48_000, channels: 2 }, [Buffer.alloc(8, 5)]);
    const list = Buffer.concat([Buffer.from('LIST'), Buffer.from([3, 0, 0, 0]), Buffer.from('abc'), Buffer.from([0])]);
    const withList = Buffer.concat([plain.subarray(0, 36), list, plain.subarray(36)]);
    withList.writeUInt32LE(0xffffffff, 36 + list.length + 4);
    expect(readWav(withList)).toEqual({ format: { sampleRate: 48_000, channels: 2 }, pcm: Buffer.alloc(8, 5) });
  });

  test('refuses what is not 16-bit PCM WAV', () => {
    expect(() => readWav(Buffer.from('ID3 tag, an mp3'))).toThrow(/RIFF/);
    const float = wavFile({ sampleRate: 8000, channels: 1 }, [Buffer.alloc(4)]);
    float.writeUInt16LE(3, 20);
    expect(() => readWav(float)).toThrow(/16-bit PCM/);
    expect(() => readWav(wavFile({ sampleRate: 8000, channels: 1 }, []).subarray(0, 36))).toThrow(/no data/);
  });
});

describe('backoff', () => {
  test('doubles each retry, keeps at least half the step, and stops growing at 10 s', () => {
    expect(backoffDelay(0, 500, () => 0)).toBe(250);
    expect(backoffDelay(0, 500, () => 1)).toBe(500);
    expect(backoffDelay(3, 500, () => 0)).toBe(2000);
    expect(backoffDelay(3, 500, () => 1)).toBe(4000);
    expect(backoffDelay(10, 500, () => 1)).toBe(10_000);
    for (let i = 0; i < 50; i++) {
      const delay = backoffDelay(2, 100);
      expect(delay).toBeGreaterThanOrEqual(200);
      expect(delay).toBeLessThanOrEqual(400);
    }
  });

  test('Retry-After in seconds or as a date', () => {
    expect(retryAfterMs('3')).toBe(3000);
    expect(retryAfterMs(null)).toBeUndefined();
    expect(retryAfterMs('soon')).toBeUndefined();
    const now = Date.parse('2030-01-01T00:00:00Z');
    expect(retryAfterMs('Tue, 01 Jan 2030 00:00:05 GMT', now)).toBe(5000);
    expect(retryAfterMs('Mon, 31 Dec 2029 23:00:00 GMT', now)).toBe(0);
  });
});
