/**
 * An upload's duration, over real HTTP through the local gateway, against a real PostgreSQL and
 * real ffprobe: the PUT to the signed local URL announces the object on upload-finalized (as the
 * bucket's notification does in Google Cloud), the upload-inspector records how long the video
 * lasts, and submit (one job, a batch's items) refuses what cannot fit it; a file that is no video
 * is recorded with no duration, and submit then leaves it to the job.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CloudEvent } from '@google-cloud/functions-framework';
import { closeRedis } from '../../shared/cache/redis';
import type { Stack } from '../../shared/local/stack';
import { inspectUpload } from '../../shared/uploads/inspect';
import { onUploadFinalized } from '../../shared/uploads/inspector';
import { finalizedMessage } from '../../shared/uploads/notification';
import { closeTestEnv, newTenantKey, TestEnv, useTestEnv } from '../support/database';
import { makeClip, makeImage } from '../support/media-fixtures';
import { startTestStack } from '../support/stack';

const BUCKET = 'aiprod-uploads';
/** Short, so that a 5 s clip is over it and a 3 s one is not. */
const MAX_INPUT_SECONDS = 4;

let env: TestEnv;
let stack: Stack;
let tenant: { key: string; tenantId: string };
let dir: string;

interface Upload {
  upload_url: string;
  headers: Record<string, string>;
  storage_uri: string;
}

interface UploadRow {
  duration_seconds: number | null;
  inspected_at: Date | null;
  inspection_error: string | null;
}

async function call(method: string, path: string, json?: unknown) {
  const res = await fetch(`${stack.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${tenant.key}`,
      ...(json === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: json === undefined ? undefined : JSON.stringify(json),
  });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

const uploadIdOf = (upload: Upload): string => upload.storage_uri.split('/')[4]!;

/** POST /uploads, then the PUT of `bytes` to its signed URL. */
async function upload(bytes: Buffer, filename: string, contentType: string): Promise<Upload> {
  const created = await call('POST', '/uploads', { filename, content_type: contentType, size_bytes: bytes.length });
  expect(created.status).toBe(201);
  const u = created.body as Upload;
  const put = await fetch(u.upload_url, { method: 'PUT', headers: u.headers, body: new Uint8Array(bytes) });
  expect(put.status).toBe(200);
  return u;
}

const row = (u: Upload): Promise<UploadRow> =>
  env
    .db('uploads')
    .where({ id: uploadIdOf(u) })
    .first('duration_seconds', 'inspected_at', 'inspection_error');

async function inspected(u: Upload, timeoutMs = 30_000): Promise<UploadRow> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const r = await row(u);
    if (r.inspected_at) return r;
    if (Date.now() > until) throw new Error(`upload ${uploadIdOf(u)} not inspected after ${timeoutMs} ms`);
    await new Promise((res) => setTimeout(res, 100));
  }
}

const script = (...starts: number[]) => starts.map((s, i) => ({ start_seconds: s, text: `Line number ${i + 1}.` }));

let clip3: Upload;

beforeAll(async () => {
  env = await useTestEnv({ AIPROD_MAX_INPUT_SECONDS: String(MAX_INPUT_SECONDS) });
  stack = await startTestStack(env);
  tenant = await newTenantKey(env.db, 'enterprise');
  dir = mkdtempSync(join(tmpdir(), 'aiprod-inspection-'));
  clip3 = await upload(readFileSync(makeClip(join(dir, 'three.mp4'), { seconds: 3 })), 'three.mp4', 'video/mp4');
});

afterAll(async () => {
  await stack.stop();
  await closeRedis();
  await closeTestEnv();
});

describe('the upload-inspector', () => {
  it("records an uploaded video's duration once its PUT completes", async () => {
    const r = await inspected(clip3);
    expect(r.inspection_error).toBeNull();
    expect(typeof r.duration_seconds).toBe('number');
    expect(Math.abs(r.duration_seconds! - 3)).toBeLessThanOrEqual(0.1);
  });

  it('records a file that is no media as inspected, with no duration', async () => {
    const junk = await upload(randomBytes(2048), 'junk.mp4', 'video/mp4');
    expect(await inspected(junk)).toEqual({
      duration_seconds: null,
      inspected_at: expect.any(Date),
      inspection_error: 'corrupt_media',
    });
    const image = await upload(readFileSync(makeImage(join(dir, 'cover.png'), '320x240')), 'cover.png', 'image/png');
    expect(await inspected(image)).toMatchObject({ duration_seconds: null, inspection_error: 'not_a_video' });
  });

  it('changes nothing when the notice comes again, and ignores objects that are no recorded upload', async () => {
    const before = await inspected(clip3);
    const key = new URL(clip3.storage_uri).pathname.slice(1);
    await expect(inspectUpload(env.db, { bucket: BUCKET, name: key }, { uploadsBucket: BUCKET })).resolves.toEqual({
      outcome: 'already_inspected',
      uploadId: uploadIdOf(clip3),
      tenantId: tenant.tenantId,
    });
    expect(await row(clip3)).toEqual(before);

    const deliver = (objectKey: string, bucket = BUCKET) => {
      const { data, attributes } = finalizedMessage({ bucket, key: objectKey, contentType: 'video/mp4', sizeBytes: 9 });
      const message = { data: Buffer.from(JSON.stringify(data)).toString('base64'), attributes, messageId: 'x-1' };
      return onUploadFinalized({
        id: 'e-1',
        specversion: '1.0',
        type: 't',
        source: 's',
        data: { message },
      } as CloudEvent<unknown>);
    };
    await expect(deliver(`${tenant.tenantId}/demo/sample.mp4`)).resolves.toMatchObject({ outcome: 'ignored' });
    await expect(deliver(key.replace(/three\.mp4$/, 'other.mp4'))).resolves.toEqual({
      outcome: 'ignored',
      reason: 'no such upload recorded',
    });
    await expect(deliver(key, 'somebody-elses-bucket')).resolves.toEqual({
      outcome: 'ignored',
      reason: 'not the uploads bucket',
    });
    expect(await row(clip3)).toEqual(before);
  });
});

describe('submit, once the duration is known', () => {
  beforeAll(async () => {
    await inspected(clip3);
  });

  it('refuses a voice_script line starting at or after the end with 422 voice_too_long naming the line', async () => {
    const r = await call('POST', '/pipeline/run', { video_url: clip3.storage_uri, voice_script: script(0, 1.5, 3.5) });
    expect(r.status).toBe(422);
    expect(r.body).toMatchObject({ code: 'voice_too_long', detail: 'Script lines must start before the video ends.' });
    expect(r.body.errors).toEqual([
      {
        field: 'voice_script.2.start_seconds',
        code: 'voice_too_long',
        message: expect.stringMatching(/^Line 3 starts at 3\.5 s, at or after the end of the 3(\.\d+)? s video\.$/),
      },
    ]);
    expect(await env.db('jobs').where({ tenant_id: tenant.tenantId }).count('* as n')).toEqual([{ n: '0' }]);
  });

  it("refuses late lines inside voice_tracks' scripts and a batch's items, each by its path", async () => {
    const tracks = await call('POST', '/pipeline/run', {
      video_url: clip3.storage_uri,
      voice_tracks: [
        { language: 'en', script: script(0.5) },
        { language: 'fr', script: script(1, 9) },
      ],
    });
    expect([tracks.status, tracks.body.code]).toEqual([422, 'voice_too_long']);
    expect(tracks.body.errors.map((e: { field: string }) => e.field)).toEqual([
      'voice_tracks.1.script.1.start_seconds',
    ]);

    const batch = await call('POST', '/pipeline/batch', {
      items: [
        { video_url: clip3.storage_uri, voice_script: script(0, 2) },
        { video_url: clip3.storage_uri, voice_script: script(0, 3, 4) },
      ],
    });
    expect([batch.status, batch.body.code]).toEqual([422, 'voice_too_long']);
    expect(batch.body.errors.map((e: { field: string }) => e.field)).toEqual([
      'items[1].voice_script.1.start_seconds',
      'items[1].voice_script.2.start_seconds',
    ]);
  });

  it('accepts lines that start inside the video', async () => {
    const r = await call('POST', '/pipeline/run', { video_url: clip3.storage_uri, voice_script: script(0, 1.5, 2.5) });
    expect(r.status).toBe(202);
    const batch = await call('POST', '/pipeline/batch', {
      items: [
        { video_url: clip3.storage_uri, voice_script: script(0, 2) },
        { recipe: 'extract_audio', video_url: clip3.storage_uri, format: 'mp3' },
      ],
    });
    expect(batch.status).toBe(202);
  });

  it('refuses a video to dub longer than AIPROD_MAX_INPUT_SECONDS with 422 input_too_long', async () => {
    const clip5 = await upload(readFileSync(makeClip(join(dir, 'five.mp4'), { seconds: 5 })), 'five.mp4', 'video/mp4');
    expect((await inspected(clip5)).duration_seconds).toBeGreaterThan(MAX_INPUT_SECONDS);
    const r = await call('POST', '/pipeline/run', { video_url: clip5.storage_uri, voice_text: 'A short line.' });
    expect([r.status, r.body.code]).toEqual([422, 'input_too_long']);
    expect(r.body.errors).toEqual([{ field: 'video_url', code: 'input_too_long', message: expect.any(String) }]);
    // The recorded duration is the picture's; extract_audio goes by the file's, which its job checks.
    const audio = await call('POST', '/pipeline/run', {
      recipe: 'extract_audio',
      video_url: clip5.storage_uri,
      format: 'mp3',
    });
    expect(audio.status).toBe(202);
  });
});

describe('submit, while the duration is unknown', () => {
  it('leaves a file that is no media to the job', async () => {
    const junk = await upload(randomBytes(1024), 'noise.mp4', 'video/mp4');
    expect((await inspected(junk)).duration_seconds).toBeNull();
    const r = await call('POST', '/pipeline/run', { video_url: junk.storage_uri, voice_script: script(0, 100) });
    expect(r.status).toBe(202);
  });

  it('leaves an upload not inspected yet to the job', async () => {
    // Handed out, never PUT: nothing to inspect, as for a submit right after the PUT.
    const created = await call('POST', '/uploads', {
      filename: 'later.mp4',
      content_type: 'video/mp4',
      size_bytes: 10,
    });
    expect((await row(created.body as Upload)).inspected_at).toBeNull();
    const r = await call('POST', '/pipeline/run', {
      video_url: created.body.storage_uri,
      voice_script: script(0, 100),
    });
    expect(r.status).toBe(202);
  });
});
