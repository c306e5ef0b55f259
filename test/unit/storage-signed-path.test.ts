import { createHmac } from 'node:crypto';
import { checkSignedPath, checkSignedUploadPath, signPath, signUploadPath } from '../../shared/storage/signed-path';

const KEY = Buffer.from('test-signing-key');
const NOW = Date.UTC(2030, 0, 1);
const LATER = NOW / 1000 + 600;

describe('signPath / checkSignedPath', () => {
  it('signs HMAC-SHA256 of "bucket\\nkey\\nexpires" and encodes each key segment', () => {
    const path = signPath(KEY, 'results', 'jobs/42/a b#?.mp4', LATER);
    const hmac = createHmac('sha256', KEY).update(`results\njobs/42/a b#?.mp4\n${LATER}`).digest('hex');
    expect(path).toBe(`/_storage/results/jobs/42/a%20b%23%3F.mp4?expires=${LATER}&signature=${hmac}`);
    expect(checkSignedPath(KEY, path, NOW)).toEqual({ ok: true, bucket: 'results', key: 'jobs/42/a b#?.mp4' });
  });

  it('reports an authentic URL past its expiry as expired', () => {
    const path = signPath(KEY, 'results', 'a.mp4', LATER);
    expect(checkSignedPath(KEY, path, (LATER + 1) * 1000)).toEqual({ ok: false, code: 'url_expired' });
    expect(checkSignedPath(KEY, path, LATER * 1000).ok).toBe(true);
  });

  it('refuses every alteration as an invalid signature', () => {
    const path = signPath(KEY, 'results', 'jobs/42/out.mp4', LATER);
    const sig = /signature=([0-9a-f]+)/.exec(path)?.[1] ?? '';
    const flipped = `${sig.slice(0, -1)}${sig.endsWith('0') ? '1' : '0'}`;
    const altered = [
      path.replace('jobs/42', 'jobs/43'),
      path.replace('/results/', '/other-bucket/'),
      path.replace(`expires=${LATER}`, `expires=${LATER + 3600}`),
      path.replace(sig, flipped),
      path.replace(sig, sig.slice(0, 10)),
      path.replace(`&signature=${sig}`, ''),
      path.split('?')[0] ?? '',
    ];
    for (const candidate of altered) {
      expect(checkSignedPath(KEY, candidate, NOW)).toEqual({ ok: false, code: 'signature_invalid' });
    }
    // Tampering with an expired URL is still a bad signature, not an expiry.
    expect(checkSignedPath(KEY, path.replace(sig, flipped), (LATER + 1) * 1000)).toEqual({
      ok: false,
      code: 'signature_invalid',
    });
  });

  it('refuses a URL signed with another key', () => {
    const path = signPath(Buffer.from('another key'), 'results', 'a.mp4', LATER);
    expect(checkSignedPath(KEY, path, NOW)).toEqual({ ok: false, code: 'signature_invalid' });
  });

  it('refuses traversal even when correctly signed for the decoded key', () => {
    // A signature over "../x" can only come from someone holding the key; refuse anyway.
    for (const raw of ['..%2Fsecrets', '%2E%2E/secrets', 'a/%2e%2e/%2e%2e/secrets', 'a%5C..%5Cb', '%00']) {
      const key = decodeURIComponent(raw);
      const sig = createHmac('sha256', KEY).update(`results\n${key}\n${LATER}`).digest('hex');
      expect(checkSignedPath(KEY, `/_storage/results/${raw}?expires=${LATER}&signature=${sig}`, NOW)).toEqual({
        ok: false,
        code: 'signature_invalid',
      });
    }
  });

  it('refuses targets outside the storage prefix and malformed encodings', () => {
    expect(checkSignedPath(KEY, '/other/results/a.mp4?expires=1&signature=00', NOW).ok).toBe(false);
    expect(checkSignedPath(KEY, '/_storage/results/%E0%A4%A?expires=1&signature=00', NOW).ok).toBe(false);
  });

  it('refuses to sign an invalid name', () => {
    expect(() => signPath(KEY, 'results', '../x', LATER)).toThrow();
  });
});

describe('signUploadPath / checkSignedUploadPath', () => {
  const terms = { contentType: 'video/mp4', sizeBytes: 4096 };

  it('signs HMAC-SHA256 of "PUT\\nbucket\\nkey\\nexpires\\ntype\\nlength" and says what may be stored', () => {
    const path = signUploadPath(KEY, 'uploads', 't1/u1/my clip.mp4', terms, LATER);
    const hmac = createHmac('sha256', KEY)
      .update(`PUT\nuploads\nt1/u1/my clip.mp4\n${LATER}\nvideo/mp4\n4096`)
      .digest('hex');
    expect(path).toBe(
      `/_storage/uploads/t1/u1/my%20clip.mp4?expires=${LATER}&content_type=video%2Fmp4&content_length=4096&signature=${hmac}`,
    );
    expect(checkSignedUploadPath(KEY, path, NOW)).toEqual({
      ok: true,
      bucket: 'uploads',
      key: 't1/u1/my clip.mp4',
      contentType: 'video/mp4',
      sizeBytes: 4096,
    });
  });

  it('refuses a changed type, length, key or expiry as an invalid signature, and says when it expired', () => {
    const path = signUploadPath(KEY, 'uploads', 't1/u1/a.mp4', terms, LATER);
    for (const candidate of [
      path.replace('video%2Fmp4', 'video%2Fwebm'),
      path.replace('content_length=4096', 'content_length=4097'),
      path.replace('content_length=4096', 'content_length=x'),
      path.replace('&content_length=4096', ''),
      path.replace('/u1/', '/u2/'),
      path.replace(`expires=${LATER}`, `expires=${LATER + 60}`),
    ]) {
      expect(checkSignedUploadPath(KEY, candidate, NOW)).toEqual({ ok: false, code: 'signature_invalid' });
    }
    expect(checkSignedUploadPath(KEY, path, (LATER + 1) * 1000)).toEqual({ ok: false, code: 'url_expired' });
    expect(checkSignedUploadPath(Buffer.from('another key'), path, NOW).ok).toBe(false);
  });

  it('never lets a read URL pass for an upload URL, or the other way round', () => {
    const read = signPath(KEY, 'uploads', 't1/u1/a.mp4', LATER);
    const upload = signUploadPath(KEY, 'uploads', 't1/u1/a.mp4', terms, LATER);
    expect(checkSignedUploadPath(KEY, read, NOW)).toEqual({ ok: false, code: 'signature_invalid' });
    expect(checkSignedPath(KEY, upload, NOW)).toEqual({ ok: false, code: 'signature_invalid' });
    // The read URL's signature, with terms added by hand, does not become an upload signature.
    const readSig = /signature=([0-9a-f]+)/.exec(read)?.[1] ?? '';
    const grafted = `/_storage/uploads/t1/u1/a.mp4?expires=${LATER}&content_type=video%2Fmp4&content_length=4096&signature=${readSig}`;
    expect(checkSignedUploadPath(KEY, grafted, NOW)).toEqual({ ok: false, code: 'signature_invalid' });
  });
});
