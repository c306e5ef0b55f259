import { redactString } from '../../shared/log';

describe('log redaction', () => {
  it('removes API keys and signed-URL credentials from strings', () => {
    const line = redactString(
      'key sk_live_abcDEF123456_secretpart-xyz used for https://h/o.mp4?X-Goog-Signature=abc&expires=1',
    );
    expect(line).not.toMatch(/secretpart|abc&|X-Goog-Signature=abc/);
    expect(line).toContain('https://h/o.mp4?');
  });
});
