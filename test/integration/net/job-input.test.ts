/**
 * A job's input as the job processor opens it (shared/jobs/input.ts): a tenant's upload read in
 * ranges from the local object store, never copied; the limit checked from the object's size
 * before anything is read; and a read the origin broke failing the job with the origin's code.
 */
import { once } from 'node:events';
import { readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resetConfig } from '../../../shared/config';
import { fetchInput, withInput } from '../../../shared/jobs/input';
import { inspect } from '../../../shared/media';
import { runFfmpeg } from '../../../shared/media/run-ffmpeg';
import { FetchError } from '../../../shared/net';
import { objectStore, resetPlatform } from '../../../shared/platform';
import { makeClip, videoPacketsMd5 } from '../../support/media-fixtures';

const BUCKET = 'aiprod-uploads';
const KEY = 'tenant-1/0b6c1f3e-51a4-4a59-9a1e-2f0c7d9b8e11/clip.mp4';
const URI = `gs://${BUCKET}/${KEY}`;

let dir: string;
let workDir: string;
let clip: string;
const saved = { ...process.env };

function useEnv(extra: Record<string, string> = {}): void {
  process.env = { ...saved, AIPROD_MODE: 'local', AIPROD_DATA_DIR: join(dir, 'data'), ...extra };
  resetConfig();
  resetPlatform();
}

async function failure(promise: Promise<unknown>): Promise<FetchError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof FetchError) return err;
    throw err;
  }
  throw new Error('expected a FetchError');
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'job-input-'));
  clip = makeClip(join(dir, 'clip.mp4'), { seconds: 3 });
  useEnv();
  await objectStore().put(BUCKET, KEY, clip, 'video/mp4');
});

beforeEach(async () => {
  workDir = await mkdtemp(join(dir, 'work-'));
  useEnv();
});

afterAll(async () => {
  process.env = saved;
  resetConfig();
  resetPlatform();
  await rm(dir, { recursive: true, force: true });
});

describe('a gs:// upload', () => {
  it('is read in ranges from the object store, never copied into the work dir', async () => {
    const store = objectStore();
    const readRange = jest.spyOn(store, 'readRange');
    const download = jest.spyOn(store, 'download');
    const input = await fetchInput(URI, workDir, new AbortController().signal);
    try {
      expect(input.sizeBytes).toBe((await store.stat(BUCKET, KEY)).sizeBytes);
      expect(await inspect(input.url)).toMatchObject({ video: { codec: 'h264' }, audio: { codec: 'aac' } });
      const md5 = (await runFfmpeg(['-i', input.url, '-map', '0:v:0', '-c', 'copy', '-f', 'md5', '-'])).stdout.trim();
      expect(md5).toBe(videoPacketsMd5(clip));
      expect(readRange).toHaveBeenCalledWith(BUCKET, KEY, expect.objectContaining({ start: expect.any(Number) }));
      expect(download).not.toHaveBeenCalled();
      expect(readdirSync(workDir)).toEqual([]);
    } finally {
      await input.close();
    }
    await expect(fetch(input.url)).rejects.toThrow();
  });

  it('that was never uploaded fails with input_http_error 404', async () => {
    const err = await failure(
      fetchInput(`gs://${BUCKET}/tenant-1/none/clip.mp4`, workDir, new AbortController().signal),
    );
    expect(err).toMatchObject({ code: 'input_http_error', status: 404 });
  });

  it('over the limit is refused from its size, before any of it is read', async () => {
    useEnv({ AIPROD_MAX_INPUT_BYTES: '1000' });
    const readRange = jest.spyOn(objectStore(), 'readRange');
    const err = await failure(fetchInput(URI, workDir, new AbortController().signal));
    expect(err.code).toBe('input_too_large');
    expect(err.message).toContain('the largest input accepted is 1000 bytes');
    expect(readRange).not.toHaveBeenCalled();
  });
});

describe('withInput', () => {
  it("fails the job with the origin's error when a read broke, even if the reader made do", async () => {
    const stalling = createServer((req, res) => {
      if (req.headers.range === 'bytes=0-0') {
        res.writeHead(206, { 'Content-Range': 'bytes 0-0/100000', 'Content-Length': '1' }).end('x');
        return;
      }
      res.writeHead(206, { 'Content-Range': 'bytes 0-99999/100000', 'Content-Length': '100000' });
      res.write(Buffer.alloc(1000));
    });
    stalling.listen(0, '127.0.0.1');
    await once(stalling, 'listening');
    useEnv({ AIPROD_ALLOW_PRIVATE_URLS: '1', AIPROD_FETCH_TIMEOUT_MS: '300' });
    let served = '';
    try {
      const url = `http://127.0.0.1:${(stalling.address() as AddressInfo).port}/clip.mp4?sig=s3cr3t`;
      const err = await failure(
        withInput(url, workDir, new AbortController().signal, async (input) => {
          served = input.url;
          // A reader that shrugs off the broken read, as ffmpeg may with a cut-short file.
          await fetch(input.url)
            .then((r) => r.arrayBuffer())
            .catch(() => undefined);
          return 'made do';
        }),
      );
      expect(err.code).toBe('input_timeout');
      expect(err.message).not.toContain('s3cr3t');
    } finally {
      stalling.closeAllConnections();
      stalling.close();
    }
    // Closed once the work is over.
    await expect(fetch(served)).rejects.toThrow();
  });
});
