import { parseJobRequest } from '../../shared/jobs/request';
import { extensionOf, sanitizeFilename, UPLOAD_MEDIA_TYPES } from '../../shared/uploads/request';

const CANDIDATES = [
  'mp4', 'm4v', 'mov', 'webm', 'mkv', 'avi', 'flv', 'wmv', 'mpg', 'ts', '3gp',
  'png', 'jpg', 'jpeg', 'webp', 'gif', 'bmp', 'tiff', 'heic', 'svg',
]; // prettier-ignore

const extensionsOf = (kind: 'video' | 'image'): string[] =>
  Object.entries(UPLOAD_MEDIA_TYPES)
    .filter(([type]) => type.startsWith(`${kind}/`))
    .flatMap(([, extensions]) => extensions);

const acceptedAs = (field: 'video_url' | 'image_url', ext: string): boolean => {
  const url = `gs://aiprod-uploads/t/u/clip.${ext}`;
  const body =
    field === 'video_url'
      ? { video_url: url, voice_text: 'A few words to say.' }
      : { recipe: 'still', image_url: url, duration_seconds: 5 };
  const parsed = parseJobRequest(body);
  return parsed.ok || !parsed.errors.some((e) => e.field === field);
};

describe('what POST /uploads accepts', () => {
  it.each([
    ['video', 'video_url'],
    ['image', 'image_url'],
  ] as const)('has exactly the %s extensions a job takes as %s', (kind, field) => {
    const uploadable = new Set(extensionsOf(kind));
    for (const ext of CANDIDATES) {
      expect({ ext, accepted: acceptedAs(field, ext) }).toEqual({ ext, accepted: uploadable.has(ext) });
    }
  });

  it('keeps only characters that need no escaping in a key, a gs:// URI or a URL', () => {
    expect(sanitizeFilename('My Holiday (final) #2.mp4')).toBe('My_Holiday_final_2.mp4');
    expect(sanitizeFilename('café–été.MOV')).toBe('caf_t_.MOV');
    expect(sanitizeFilename('100%.webm')).toBe('100_.webm');
    expect(sanitizeFilename('...hidden.png')).toBe('hidden.png');
    expect(sanitizeFilename('a..b.mkv')).toBe('a..b.mkv');
  });

  it('reads the extension lowercased, and none from a bare or dot-led name', () => {
    expect(extensionOf('clip.MP4')).toBe('mp4');
    expect(extensionOf('archive.tar.webm')).toBe('webm');
    expect(extensionOf('mp4')).toBe('');
    expect(extensionOf('.mp4')).toBe('');
  });
});
