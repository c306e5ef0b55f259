/**
 * Uploads over real HTTP, through the local gateway, against a real PostgreSQL: POST /uploads
 * (the contract and every validation error), the PUT to the signed URL the local store serves
 * (right, and wrong type, length, signature or expiry), tenant isolation at submit, and a job
 * that runs from an uploaded file with real ffmpeg.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { closeRedis } from '../../shared/cache/redis';
import { ValidationError } from '../../shared/errors';
import type { Stack } from '../../shared/local/stack';
import { localSigningKey, localStore } from '../../shared/platform';
import { signUploadPath } from '../../shared/storage/signed-path';
import { checkUploadsRecorded } from '../../shared/uploads/ownership';
import { closeTestEnv, newTenantKey, TestEnv, useTestEnv } from '../support/database';
import { startTestStack } from '../support/stack';
import { ffprobeJson, makeClip, videoPacketsMd5 } from '../support/media-fixtures';

const BUCKET = 'aiprod-uploads';
const MAX_INPUT_BYTES = 10_000_000;
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';

let env: TestEnv;
let stack: Stack;
let a: { key: string; tenantId: string };
let b: { key: string; tenantId: string };
let clipPath: string;

interface Upload {
  upload_url: string;
  method: 'PUT';
  headers: Record<string, string>;
  storage_uri: string;
  expires_at: string;
}

async function call(method: string, path: string, opts: { key?: string | null; json?: unknown; raw?: string } = {}) {
  const headers: Record<string, string> = {};
  const k = opts.key === undefined ? a.key : opts.key;
  if (k) headers.authorization = `Bearer ${k}`;
  const payload = opts.json !== undefined ? JSON.stringify(opts.json) : opts.raw;
  if (opts.json !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${stack.url}${path}`, { method, headers, body: payload });
  const text = await res.text();
  let body: Record<string, any> = {};
  try {
    body = JSON.parse(text);
  } catch {
    body = { text };
  }
  return { status: res.status, headers: res.headers, body };
}

const file = (extra: Record<string, unknown> = {}) => ({
  filename: 'clip.mp4',
  content_type: 'video/mp4',
  size_bytes: 1024,
  ...extra,
});

async function newUpload(json: unknown = file(), key = a.key): Promise<Upload> {
  const r = await call('POST', '/uploads', { key, json });
  if (r.status !== 201) throw new Error(`POST /uploads answered ${r.status}: ${JSON.stringify(r.body)}`);
  return r.body as Upload;
}

async function put(url: string, body: Buffer, headers: Record<string, string>) {
  const res = await fetch(url, { method: 'PUT', headers, body: new Uint8Array(body) });
  const text = await res.text();
  return { status: res.status, type: res.headers.get('content-type'), body: text ? JSON.parse(text) : {} };
}

/** Where the local store keeps an upload's bytes (the object key is the URI's path). */
const objectPath = (storageUri: string): string => localStore().filePath(BUCKET, new URL(storageUri).pathname.slice(1));

async function waitForEnd(jobId: string, timeoutMs = 90_000): Promise<Record<string, any>> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const { body } = await call('GET', `/pipeline/${jobId}`);
    if (body.status === 'COMPLETED' || body.status === 'FAILED') return body;
    if (Date.now() > until) throw new Error(`job ${jobId} still ${body.status}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

beforeAll(async () => {
  env = await useTestEnv({ AIPROD_MAX_INPUT_BYTES: String(MAX_INPUT_BYTES) });
  stack = await startTestStack(env);
  // Enterprise: the cases below make more uploads than a pro tenant's submits per minute.
  a = await newTenantKey(env.db, 'enterprise');
  b = await newTenantKey(env.db, 'pro');
  clipPath = makeClip(join(mkdtempSync(join(tmpdir(), 'aiprod-uploads-')), 'clip.mp4'), { seconds: 3 });
});

afterAll(async () => {
  await stack.stop();
  // The rate limiter's client, when REDIS_URL is set.
  await closeRedis();
  await closeTestEnv();
});

describe('POST /uploads', () => {
  it('answers 201 with a signed PUT URL, the headers to send, the gs:// URI and the expiry, and records the upload', async () => {
    const before = Date.now();
    const r = await call('POST', '/uploads', { json: file({ size_bytes: 4096 }) });
    expect(r.status).toBe(201);
    expect(r.headers.get('cache-control')).toBe('no-store');
    expect(r.body).toEqual({
      upload_url: expect.stringMatching(
        new RegExp(`^http://localhost:\\d+/_storage/${BUCKET}/${a.tenantId}/${UUID}/clip\\.mp4\\?`),
      ),
      method: 'PUT',
      headers: { 'Content-Type': 'video/mp4', 'Content-Length': '4096' },
      storage_uri: expect.stringMatching(new RegExp(`^gs://${BUCKET}/${a.tenantId}/${UUID}/clip\\.mp4$`)),
      expires_at: expect.stringMatching(ISO),
    });
    const uploadId = r.body.storage_uri.split('/')[4];
    expect(r.body.upload_url).toContain(`/${uploadId}/clip.mp4?`);
    // AIPROD_SIGNED_URL_TTL_SECONDS (an hour) from now, to the second.
    const expires = Date.parse(r.body.expires_at);
    expect(expires).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 + 3600_000);
    expect(expires).toBeLessThanOrEqual(Date.now() + 3600_000);

    const row = await env.db('uploads').where({ id: uploadId }).first();
    expect(row).toMatchObject({
      tenant_id: a.tenantId,
      filename: 'clip.mp4',
      content_type: 'video/mp4',
      size_bytes: '4096',
    });
    expect(new Date(row.expires_at).toISOString()).toBe(r.body.expires_at);
  });

  it('stores a sanitized file name and the type in lowercase, as signed', async () => {
    const upload = await newUpload(file({ filename: '  My Clip (final) #2.MP4 ', content_type: ' Video/MP4 ' }));
    expect(upload.storage_uri).toMatch(/\/My_Clip_final_2\.MP4$/);
    expect(upload.headers['Content-Type']).toBe('video/mp4');
    const image = await newUpload(file({ filename: 'cover.JPEG', content_type: 'image/jpeg' }));
    expect(image.storage_uri).toMatch(/\/cover\.JPEG$/);
  });

  it.each([
    ['a missing field', { filename: 'clip.mp4', content_type: 'video/mp4' }, [['size_bytes', 'required']]],
    [
      'an empty body',
      {},
      [
        ['filename', 'required'],
        ['content_type', 'required'],
        ['size_bytes', 'required'],
      ],
    ],
    ['a filename that is not a string', file({ filename: 42 }), [['filename', 'invalid_type']]],
    ['an empty filename', file({ filename: '  ' }), [['filename', 'too_short']]],
    ['a filename over 255 characters', file({ filename: `${'a'.repeat(252)}.mp4` }), [['filename', 'too_long']]],
    ['a path', file({ filename: 'in/clip.mp4' }), [['filename', 'invalid_filename']]],
    ['a Windows path', file({ filename: '..\\clip.mp4' }), [['filename', 'invalid_filename']]],
    ['control characters', file({ filename: 'clip\u0000.mp4' }), [['filename', 'invalid_characters']]],
    ['an extension no recipe takes', file({ filename: 'clip.avi' }), [['filename', 'unsupported_extension']]],
    ['no extension', file({ filename: 'clip' }), [['filename', 'unsupported_extension']]],
    ['an extension alone', file({ filename: '.mp4' }), [['filename', 'unsupported_extension']]],
    ['an extension of another type', file({ filename: 'clip.png' }), [['filename', 'extension_mismatch']]],
    ['a type no recipe takes', file({ content_type: 'video/x-msvideo' }), [['content_type', 'unsupported_value']]],
    [
      'a type with parameters',
      file({ content_type: 'video/mp4; codecs=avc1' }),
      [['content_type', 'unsupported_value']],
    ],
    ['a type that is not a string', file({ content_type: ['video/mp4'] }), [['content_type', 'invalid_type']]],
    ['a size as a string', file({ size_bytes: '1024' }), [['size_bytes', 'invalid_type']]],
    ['a fractional size', file({ size_bytes: 10.5 }), [['size_bytes', 'invalid_type']]],
    ['an empty file', file({ size_bytes: 0 }), [['size_bytes', 'out_of_range']]],
    ['a negative size', file({ size_bytes: -1 }), [['size_bytes', 'out_of_range']]],
    ['a file over AIPROD_MAX_INPUT_BYTES', file({ size_bytes: MAX_INPUT_BYTES + 1 }), [['size_bytes', 'too_large']]],
    ['an unknown field', file({ bucket: 'elsewhere' }), [['bucket', 'unknown_field']]],
  ] as const)('answers 422 validation_failed for %s', async (_what, json, expected) => {
    const r = await call('POST', '/uploads', { json });
    expect(r.status).toBe(422);
    expect(r.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(r.body).toMatchObject({ status: 422, code: 'validation_failed', instance: '/uploads' });
    expect(r.body.errors).toEqual(expected.map(([field, code]) => ({ field, code, message: expect.any(String) })));
  });

  it('reports every bad field at once', async () => {
    const r = await call('POST', '/uploads', {
      json: { filename: 'a/b.exe', content_type: 'text/html', size_bytes: 0 },
    });
    expect(r.status).toBe(422);
    expect(r.body.errors.map((e: { field: string; code: string }) => `${e.field}:${e.code}`).sort()).toEqual([
      'content_type:unsupported_value',
      'filename:invalid_filename',
      'size_bytes:out_of_range',
    ]);
    expect(await env.db('uploads').where({ tenant_id: a.tenantId, filename: 'b.exe' }).first()).toBeUndefined();
  });

  it('takes a file of exactly AIPROD_MAX_INPUT_BYTES', async () => {
    const upload = await newUpload(file({ size_bytes: MAX_INPUT_BYTES }));
    expect(upload.headers['Content-Length']).toBe(String(MAX_INPUT_BYTES));
  });

  it('refuses what is not a JSON object, and callers without a key', async () => {
    expect((await call('POST', '/uploads', { raw: 'filename=clip.mp4' })).body.code).toBe('unsupported_media_type');
    const array = await call('POST', '/uploads', { json: [file()] });
    expect([array.status, array.body.code]).toEqual([400, 'invalid_json']);
    const anonymous = await call('POST', '/uploads', { key: null, json: file() });
    expect([anonymous.status, anonymous.body.code]).toEqual([401, 'unauthorized']);
    expect((await call('GET', '/uploads')).status).toBe(405);
  });
});

describe('PUT to the signed upload URL', () => {
  const bytes = Buffer.from(Array.from({ length: 1024 }, (_, i) => (i * 7) % 256));

  it('stores exactly the bytes sent with the signed headers, once', async () => {
    const upload = await newUpload();
    const r = await put(upload.upload_url, bytes, upload.headers);
    expect(r.status).toBe(200);
    expect(readFileSync(objectPath(upload.storage_uri)).equals(bytes)).toBe(true);
    await expect(localStore().contentTypeOf(BUCKET, new URL(upload.storage_uri).pathname.slice(1))).resolves.toBe(
      'video/mp4',
    );
    // The URL writes one object: a second PUT is refused and the first one stays.
    const again = await put(upload.upload_url, Buffer.alloc(1024), upload.headers);
    expect([again.status, again.body.code]).toEqual([409, 'object_exists']);
    expect(readFileSync(objectPath(upload.storage_uri)).equals(bytes)).toBe(true);
  });

  it.each([
    ['another content type', bytes, { 'Content-Type': 'video/webm' }, 415, 'content_type_mismatch'],
    ['no content type', bytes, { 'Content-Type': '' }, 415, 'content_type_mismatch'],
    ['a body shorter than declared', bytes.subarray(0, 1023), {}, 400, 'content_length_mismatch'],
    ['a body longer than declared', Buffer.concat([bytes, Buffer.from('x')]), {}, 400, 'content_length_mismatch'],
  ])('refuses %s with problem+json and stores nothing', async (_what, body, headers, status, code) => {
    const upload = await newUpload();
    const r = await put(upload.upload_url, body, { 'Content-Type': upload.headers['Content-Type']!, ...headers });
    expect([r.status, r.body.code]).toEqual([status, code]);
    expect(r.type).toBe('application/problem+json');
    expect(existsSync(objectPath(upload.storage_uri))).toBe(false);
    // Nothing was spent: the same URL still takes the right body.
    expect((await put(upload.upload_url, bytes, upload.headers)).status).toBe(200);
  });

  it('refuses a body without a length (chunked) with 411', async () => {
    const upload = await newUpload();
    const res = await fetch(upload.upload_url, {
      method: 'PUT',
      headers: { 'Content-Type': 'video/mp4' },
      body: new ReadableStream({
        start(controller) {
          controller.enqueue(bytes);
          controller.close();
        },
      }),
      duplex: 'half',
    } as RequestInit);
    expect(res.status).toBe(411);
    expect(((await res.json()) as { code: string }).code).toBe('length_required');
    expect(existsSync(objectPath(upload.storage_uri))).toBe(false);
  });

  it('keeps nothing of a body cut short by the client', async () => {
    const upload = await newUpload();
    const url = new URL(upload.upload_url);
    const req = request({
      hostname: '127.0.0.1',
      port: url.port,
      path: url.pathname + url.search,
      method: 'PUT',
      headers: upload.headers,
    });
    req.on('error', () => undefined);
    req.write(bytes.subarray(0, 512));
    await new Promise((r) => setTimeout(r, 100));
    req.destroy();
    await new Promise((r) => setTimeout(r, 300));
    expect(existsSync(objectPath(upload.storage_uri))).toBe(false);
    expect(readdirSync(join(env.dataDir, 'storage', '.tmp'))).toEqual([]);
    expect((await put(upload.upload_url, bytes, upload.headers)).status).toBe(200);
  });

  it('refuses a forged or altered URL with 403 signature_invalid', async () => {
    const upload = await newUpload();
    const sig = /signature=([0-9a-f]+)/.exec(upload.upload_url)![1]!;
    const flipped = `${sig.slice(0, -1)}${sig.endsWith('0') ? '1' : '0'}`;
    for (const forged of [
      upload.upload_url.replace(sig, flipped),
      upload.upload_url.replace('content_length=1024', 'content_length=2048'),
      upload.upload_url.replace('video%2Fmp4', 'image%2Fpng'),
      upload.upload_url.replace(`/${a.tenantId}/`, `/${b.tenantId}/`),
    ]) {
      const size = forged.includes('content_length=2048') ? 2048 : 1024;
      const type = forged.includes('image%2Fpng') ? 'image/png' : 'video/mp4';
      const r = await put(forged, Buffer.alloc(size), { 'Content-Type': type });
      expect([r.status, r.body.code]).toEqual([403, 'signature_invalid']);
    }
    expect(existsSync(objectPath(upload.storage_uri))).toBe(false);
  });

  it('refuses an expired URL with 403 url_expired', async () => {
    const key = `${a.tenantId}/${randomUUID()}/late.mp4`;
    const path = signUploadPath(
      localSigningKey(),
      BUCKET,
      key,
      { contentType: 'video/mp4', sizeBytes: 1024 },
      Math.floor(Date.now() / 1000) - 1,
    );
    const r = await put(`${stack.url}${path}`, bytes, { 'Content-Type': 'video/mp4' });
    expect([r.status, r.body.code]).toEqual([403, 'url_expired']);
    expect(existsSync(localStore().filePath(BUCKET, key))).toBe(false);
  });
});

describe('submitting an upload', () => {
  const dub = (videoUrl: string) => ({ video_url: videoUrl, voice_text: 'Here is the news, read aloud for you.' });

  it("refuses another tenant's upload with 422 not_your_object", async () => {
    const upload = await newUpload();
    await put(upload.upload_url, Buffer.alloc(1024), upload.headers);
    const r = await call('POST', '/pipeline/run', { key: b.key, json: dub(upload.storage_uri) });
    expect(r.status).toBe(422);
    expect(r.body.errors).toEqual([{ field: 'video_url', code: 'not_your_object', message: expect.any(String) }]);
    const still = await call('POST', '/pipeline/run', {
      key: b.key,
      json: { recipe: 'still', image_url: upload.storage_uri.replace(/\.mp4$/, '.png'), duration_seconds: 5 },
    });
    expect(still.body.errors).toEqual([expect.objectContaining({ field: 'image_url', code: 'not_your_object' })]);
  });

  it('refuses a batch item naming no upload of the tenant, by its index', async () => {
    const mine = await newUpload();
    const r = await call('POST', '/pipeline/batch', {
      json: { items: [dub(mine.storage_uri), dub(`gs://${BUCKET}/${a.tenantId}/${randomUUID()}/clip.mp4`)] },
    });
    expect(r.status).toBe(422);
    expect(r.body.errors).toEqual([
      { field: 'items[1].video_url', code: 'unknown_upload', message: expect.any(String) },
    ]);
  });

  it('refuses an object of its own prefix that no upload URL made with 422 unknown_upload', async () => {
    for (const uri of [
      `gs://${BUCKET}/${a.tenantId}/demo/sample.mp4`,
      `gs://${BUCKET}/${a.tenantId}/clip.mp4`,
      `gs://${BUCKET}/${a.tenantId}/${randomUUID()}/sub/clip.mp4`,
      `gs://${BUCKET}/${a.tenantId}/${randomUUID()}/my%20clip.mp4`,
      // Well-shaped, but no upload of this tenant has that id.
      `gs://${BUCKET}/${a.tenantId}/${randomUUID()}/clip.mp4`,
    ]) {
      const r = await call('POST', '/pipeline/run', { json: dub(uri) });
      expect({ uri, status: r.status, errors: r.body.errors }).toEqual({
        uri,
        status: 422,
        errors: [{ field: 'video_url', code: 'unknown_upload', message: expect.any(String) }],
      });
    }
  });

  it('fails a job whose upload was never PUT at once, as a missing input', async () => {
    const upload = await newUpload();
    const submitted = await call('POST', '/pipeline/run', { json: dub(upload.storage_uri) });
    expect(submitted.status).toBe(202);
    const status = await waitForEnd(submitted.body.job_id);
    expect(status).toMatchObject({ status: 'FAILED', stage: 'fetching', error: { code: 'input_http_error' } });
    const row = await env.db('jobs').where({ id: submitted.body.job_id }).first('attempts');
    expect(row.attempts).toBe(1);
  });

  it('runs a job from an uploaded file, even once the upload URL has expired', async () => {
    const video = readFileSync(clipPath);
    const upload = await newUpload(file({ filename: 'interview take 1.mp4', size_bytes: video.length }));
    expect((await put(upload.upload_url, video, upload.headers)).status).toBe(200);
    await env
      .db('uploads')
      .where({ id: upload.storage_uri.split('/')[4] })
      .update({ expires_at: new Date(Date.now() - 60_000) });

    const submitted = await call('POST', '/pipeline/run', { json: dub(upload.storage_uri) });
    expect(submitted.status).toBe(202);
    const status = await waitForEnd(submitted.body.job_id);
    expect(status).toMatchObject({ status: 'COMPLETED', progress: 100 });

    const result = await call('GET', `/pipeline/${submitted.body.job_id}/result`);
    expect(result.body).toMatchObject({ content_type: 'video/mp4', video: { codec: 'h264', copied: true } });
    const download = await fetch(result.body.url);
    expect(download.status).toBe(200);
    const output = join(env.dataDir, 'from-upload.mp4');
    writeFileSync(output, Buffer.from(await download.arrayBuffer()));
    expect(Math.abs(Number(ffprobeJson(output).format.duration) - 3)).toBeLessThanOrEqual(0.1);
    expect(videoPacketsMd5(output)).toBe(videoPacketsMd5(clipPath));
  });
});

describe('checkUploadsRecorded (the record behind an upload-shaped name)', () => {
  const reasons = (err: unknown): string[] =>
    err instanceof ValidationError ? err.errors.map((e) => `${e.field}:${e.code}`) : [String(err)];
  const check = (tenantId: string, inputs: { uri: string; field: string }[]) =>
    checkUploadsRecorded(env.db, tenantId, BUCKET, inputs).then(() => [], reasons);

  it('passes uploads handed out to the tenant and inputs that are not gs://', async () => {
    const one = await newUpload();
    const two = await newUpload(file({ filename: 'cover.png', content_type: 'image/png' }));
    await expect(
      check(a.tenantId, [
        { uri: one.storage_uri, field: 'items[0].video_url' },
        { uri: two.storage_uri, field: 'items[1].image_url' },
        { uri: 'https://cdn.example.com/clip.mp4', field: 'items[2].video_url' },
      ]),
    ).resolves.toEqual([]);
  });

  it('refuses, one entry each, a made-up id, another file name, and an upload of another tenant', async () => {
    const mine = await newUpload();
    const theirs = await newUpload(file(), b.key);
    const theirId = theirs.storage_uri.split('/')[4];
    await expect(
      check(a.tenantId, [
        { uri: `gs://${BUCKET}/${a.tenantId}/${randomUUID()}/clip.mp4`, field: 'items[0].video_url' },
        { uri: mine.storage_uri.replace(/clip\.mp4$/, 'other.mp4'), field: 'items[1].video_url' },
        { uri: `gs://${BUCKET}/${a.tenantId}/${theirId}/clip.mp4`, field: 'items[2].video_url' },
        { uri: mine.storage_uri, field: 'items[3].video_url' },
      ]),
    ).resolves.toEqual([
      'items[0].video_url:unknown_upload',
      'items[1].video_url:unknown_upload',
      'items[2].video_url:unknown_upload',
    ]);
  });
});
