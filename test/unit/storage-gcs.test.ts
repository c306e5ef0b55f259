import { createHash, generateKeyPairSync, verify } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { Storage } from '@google-cloud/storage';
import {
  gcsObjectStore,
  InvalidObjectNameError,
  ObjectNotFoundError,
  RESUMABLE_THRESHOLD_BYTES,
} from '../../shared/storage';

/** Just the calls the adapter makes, recorded. */
function fakeStorage() {
  const file = {
    download: jest.fn(async (_opts: unknown) => [Buffer.alloc(0)]),
    exists: jest.fn(async () => [true]),
    getMetadata: jest.fn(async () => [{ size: '5000000000' }]),
    createReadStream: jest.fn((_opts: unknown) => Readable.from([Buffer.from('part')])),
    delete: jest.fn(async (_opts: unknown) => [{}]),
    getSignedUrl: jest.fn(async (_cfg: unknown) => ['https://storage.googleapis.com/b/k?X-Goog-Signature=x']),
  };
  const bucket = {
    upload: jest.fn(async (_path: string, _opts: unknown) => [{}]),
    file: jest.fn((_name: string) => file),
  };
  const storage = { bucket: jest.fn((_name: string) => bucket) };
  return { storage, bucket, file, store: gcsObjectStore({ storage: storage as unknown as Storage }) };
}

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'storage-gcs-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('gcsObjectStore', () => {
  it('uploads a small file in one request, to the key, with its content type', async () => {
    const { storage, bucket, store } = fakeStorage();
    const source = join(dir, 'small.mp4');
    await writeFile(source, Buffer.alloc(1234));
    await expect(store.put('aiprod-results', 'jobs/1/out.mp4', source, 'video/mp4')).resolves.toEqual({
      sizeBytes: 1234,
    });
    expect(storage.bucket).toHaveBeenCalledWith('aiprod-results');
    expect(bucket.upload).toHaveBeenCalledWith(source, {
      destination: 'jobs/1/out.mp4',
      contentType: 'video/mp4',
      resumable: false,
    });
  });

  it('switches to a resumable upload only above 8 MiB', async () => {
    const { bucket, store } = fakeStorage();
    const atLimit = join(dir, 'at-limit.bin');
    const overLimit = join(dir, 'over-limit.bin');
    await writeFile(atLimit, Buffer.alloc(RESUMABLE_THRESHOLD_BYTES));
    await writeFile(overLimit, Buffer.alloc(RESUMABLE_THRESHOLD_BYTES + 1));
    await store.put('aiprod-results', 'a', atLimit, 'application/octet-stream');
    await store.put('aiprod-results', 'b', overLimit, 'application/octet-stream');
    expect(RESUMABLE_THRESHOLD_BYTES).toBe(8 * 1024 * 1024);
    expect(bucket.upload.mock.calls.map(([, opts]) => (opts as { resumable: boolean }).resumable)).toEqual([
      false,
      true,
    ]);
  });

  it('downloads to the destination path', async () => {
    const { bucket, file, store } = fakeStorage();
    await store.download('aiprod-inputs', 'jobs/1/in.mp4', '/scratch/in.mp4');
    expect(bucket.file).toHaveBeenCalledWith('jobs/1/in.mp4');
    expect(file.download).toHaveBeenCalledWith({ destination: '/scratch/in.mp4' });
  });

  it('turns a 404 on download into ObjectNotFoundError and passes other errors through', async () => {
    const { file, store } = fakeStorage();
    file.download.mockRejectedValueOnce(Object.assign(new Error('No such object'), { code: 404 }));
    await expect(store.download('aiprod-inputs', 'missing', '/scratch/x')).rejects.toBeInstanceOf(ObjectNotFoundError);
    const denied = Object.assign(new Error('Forbidden'), { code: 403 });
    file.download.mockRejectedValueOnce(denied);
    await expect(store.download('aiprod-inputs', 'secret', '/scratch/x')).rejects.toBe(denied);
  });

  it("reads an object's size from its metadata, a missing one as ObjectNotFoundError", async () => {
    const { bucket, file, store } = fakeStorage();
    await expect(store.stat('aiprod-uploads', 't/u/clip.mp4')).resolves.toEqual({ sizeBytes: 5_000_000_000 });
    expect(bucket.file).toHaveBeenCalledWith('t/u/clip.mp4');
    file.getMetadata.mockRejectedValueOnce(Object.assign(new Error('No such object'), { code: 404 }));
    await expect(store.stat('aiprod-uploads', 'missing')).rejects.toBeInstanceOf(ObjectNotFoundError);
  });

  it('streams a byte range without the whole-object checksum', async () => {
    const { file, store } = fakeStorage();
    const part = store.readRange('aiprod-uploads', 't/u/clip.mp4', { start: 100, end: 199 });
    expect((await buffer(part)).toString()).toBe('part');
    expect(file.createReadStream).toHaveBeenCalledWith({ start: 100, end: 199, validation: false });
  });

  it('answers exists from file.exists()', async () => {
    const { file, store } = fakeStorage();
    await expect(store.exists('aiprod-results', 'k')).resolves.toBe(true);
    file.exists.mockResolvedValueOnce([false]);
    await expect(store.exists('aiprod-results', 'k')).resolves.toBe(false);
  });

  it('deletes without failing on a missing object', async () => {
    const { file, store } = fakeStorage();
    await store.delete('aiprod-results', 'jobs/1/out.mp4');
    expect(file.delete).toHaveBeenCalledWith({ ignoreNotFound: true });
  });

  it('signs a V4 read URL that expires ttlSeconds from now', async () => {
    const { file, store } = fakeStorage();
    const before = Date.now();
    const url = await store.signedReadUrl('aiprod-results', 'jobs/1/out.mp4', 3600);
    const after = Date.now();
    expect(url).toBe('https://storage.googleapis.com/b/k?X-Goog-Signature=x');
    const cfg = file.getSignedUrl.mock.calls[0]?.[0] as { version: string; action: string; expires: number };
    expect(cfg).toMatchObject({ version: 'v4', action: 'read' });
    expect(cfg.expires).toBeGreaterThanOrEqual(before + 3600_000);
    expect(cfg.expires).toBeLessThanOrEqual(after + 3600_000);
  });

  it('refuses a TTL beyond what V4 signing allows', async () => {
    const { file, store } = fakeStorage();
    await expect(store.signedReadUrl('aiprod-results', 'k', 8 * 24 * 3600)).rejects.toThrow(RangeError);
    await expect(store.signedReadUrl('aiprod-results', 'k', 0)).rejects.toThrow(RangeError);
    expect(file.getSignedUrl).not.toHaveBeenCalled();
  });

  it('holds keys to the same rules as the local backend, before calling Cloud Storage', async () => {
    const { storage, store } = fakeStorage();
    await expect(store.exists('aiprod-results', '../x')).rejects.toBeInstanceOf(InvalidObjectNameError);
    await expect(store.put('Bad_Bucket', 'k', join(dir, 'small.mp4'), 'video/mp4')).rejects.toBeInstanceOf(
      InvalidObjectNameError,
    );
    expect(storage.bucket).not.toHaveBeenCalled();
  });
});

describe('gcsObjectStore.signedUploadUrl', () => {
  const terms = { contentType: 'video/mp4', sizeBytes: 1234, ttlSeconds: 900 };

  it('asks for a V4 write URL binding the content type, the exact size (x-goog-content-length-range) and no overwrite', async () => {
    const { bucket, file, store } = fakeStorage();
    const before = Date.now();
    const signed = await store.signedUploadUrl('aiprod-uploads', 't1/u1/clip.mp4', terms);
    const after = Date.now();
    expect(bucket.file).toHaveBeenCalledWith('t1/u1/clip.mp4');
    const cfg = file.getSignedUrl.mock.calls[0]?.[0] as Record<string, unknown> & { expires: number };
    expect(cfg).toEqual({
      version: 'v4',
      action: 'write',
      expires: expect.any(Number),
      contentType: 'video/mp4',
      extensionHeaders: { 'x-goog-content-length-range': '1234,1234', 'x-goog-if-generation-match': '0' },
    });
    expect(cfg.expires).toBeGreaterThanOrEqual(before + 900_000);
    expect(cfg.expires).toBeLessThanOrEqual(after + 900_000);
    expect(signed).toEqual({
      url: 'https://storage.googleapis.com/b/k?X-Goog-Signature=x',
      headers: {
        'Content-Type': 'video/mp4',
        'Content-Length': '1234',
        'x-goog-content-length-range': '1234,1234',
        'x-goog-if-generation-match': '0',
      },
      expiresAt: new Date(cfg.expires),
    });
  });

  it.each([
    ['a TTL beyond what V4 signing allows', { ttlSeconds: 8 * 24 * 3600 }],
    ['a content type with parameters', { contentType: 'video/mp4; codecs=avc1' }],
    ['a content type with a line break', { contentType: 'video/mp4\r\nx-evil: 1' }],
    ['an uppercase content type (signed headers are compared as sent)', { contentType: 'Video/MP4' }],
    ['a fractional size', { sizeBytes: 1.5 }],
    ['a negative size', { sizeBytes: -1 }],
  ])('refuses %s before calling Cloud Storage', async (_what, change) => {
    const { file, store } = fakeStorage();
    await expect(store.signedUploadUrl('aiprod-uploads', 'k.mp4', { ...terms, ...change })).rejects.toThrow(RangeError);
    expect(file.getSignedUrl).not.toHaveBeenCalled();
  });

  it('holds the key to the object name rules', async () => {
    const { storage, store } = fakeStorage();
    await expect(store.signedUploadUrl('aiprod-uploads', 't/../x.mp4', terms)).rejects.toBeInstanceOf(
      InvalidObjectNameError,
    );
    expect(storage.bucket).not.toHaveBeenCalled();
  });

  /**
   * With a real client and a throwaway service-account key (signing is local: no network), the URL
   * verifies, per the V4 scheme, only for a PUT with the type and the size it was made for.
   */
  it('produces a V4 signature that holds for the bound headers only', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const storage = new Storage({
      projectId: 'aiprod-test',
      credentials: {
        client_email: 'fn-uploads-create@aiprod-test.iam.gserviceaccount.com',
        private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      },
    });
    const signed = await gcsObjectStore({ storage }).signedUploadUrl('aiprod-uploads', 't1/u1/clip.mp4', terms);
    const url = new URL(signed.url);
    expect(url.origin + url.pathname).toBe('https://storage.googleapis.com/aiprod-uploads/t1/u1/clip.mp4');
    const q = url.searchParams;
    expect(q.get('X-Goog-SignedHeaders')).toBe(
      'content-type;host;x-goog-content-length-range;x-goog-if-generation-match',
    );
    expect(q.get('X-Goog-Expires')).toBe('900');

    const canonicalQuery = url.search
      .slice(1)
      .split('&')
      .filter((pair) => !pair.startsWith('X-Goog-Signature='))
      .sort()
      .join('&');
    const signs = (headers: Record<string, string>): boolean => {
      const canonicalRequest = [
        'PUT',
        url.pathname,
        canonicalQuery,
        ...Object.entries(headers).map(([name, value]) => `${name}:${value}`),
        '',
        q.get('X-Goog-SignedHeaders'),
        'UNSIGNED-PAYLOAD',
      ].join('\n');
      const scope = (q.get('X-Goog-Credential') ?? '').split('/').slice(1).join('/');
      const toSign = [
        'GOOG4-RSA-SHA256',
        q.get('X-Goog-Date'),
        scope,
        createHash('sha256').update(canonicalRequest).digest('hex'),
      ].join('\n');
      return verify('sha256', Buffer.from(toSign), publicKey, Buffer.from(q.get('X-Goog-Signature') ?? '', 'hex'));
    };
    const sent = {
      'content-type': signed.headers['Content-Type']!,
      host: 'storage.googleapis.com',
      'x-goog-content-length-range': signed.headers['x-goog-content-length-range']!,
      'x-goog-if-generation-match': signed.headers['x-goog-if-generation-match']!,
    };
    expect(signs(sent)).toBe(true);
    expect(signs({ ...sent, 'content-type': 'video/webm' })).toBe(false);
    expect(signs({ ...sent, 'x-goog-content-length-range': '0,5368709120' })).toBe(false);
    // Without the precondition, or with another generation, it could replace the inspected object.
    expect(signs({ ...sent, 'x-goog-if-generation-match': '1' })).toBe(false);
  });
});
