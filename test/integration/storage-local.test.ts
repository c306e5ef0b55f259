import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, request, type IncomingHttpHeaders, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  InvalidObjectNameError,
  localObjectStore,
  localStorageHandler,
  ObjectNotFoundError,
  type LocalObjectStore,
} from '../../shared/storage';
import { signPath } from '../../shared/storage/signed-path';

const SIGNING_KEY = Buffer.from('local-test-signing-key');
const VIDEO = Buffer.from(Array.from({ length: 4096 }, (_, i) => i % 251));

let work: string;
let root: string;
let store: LocalObjectStore;
let server: Server;
let origin: string;
let handler: ReturnType<typeof localStorageHandler>;

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

/** Raw HTTP, so request targets reach the server exactly as written (fetch would normalise `..`). */
async function send(target: string, opts: { method?: string; headers?: Record<string, string> } = {}): Promise<Reply> {
  const { hostname, port } = new URL(origin);
  const req = request({ hostname, port, path: target, method: opts.method ?? 'GET', headers: opts.headers });
  req.end();
  const [res] = (await once(req, 'response')) as [IncomingMessage];
  const chunks: Buffer[] = [];
  for await (const chunk of res) chunks.push(chunk as Buffer);
  return { status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) };
}

function targetOf(signedUrl: string): string {
  expect(signedUrl.startsWith(`${origin}/_storage/`)).toBe(true);
  return signedUrl.slice(origin.length);
}

async function source(name: string, content: Buffer | string): Promise<string> {
  const path = join(work, name);
  await writeFile(path, content);
  return path;
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'storage-local-'));
  root = join(work, 'objects');
  server = createServer((req, res) => handler(req, res));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  store = localObjectStore({ rootDir: root, publicBaseUrl: `${origin}/`, signingKey: SIGNING_KEY });
  handler = localStorageHandler(store);
});

afterAll(async () => {
  server.closeAllConnections();
  server.close();
  await rm(work, { recursive: true, force: true });
});

describe('localObjectStore', () => {
  it('stores objects as plain files under <root>/<bucket>/<key>', async () => {
    const from = await source('in.mp4', VIDEO);
    await expect(store.put('results', 'jobs/1/out.mp4', from, 'video/mp4')).resolves.toEqual({
      sizeBytes: VIDEO.length,
    });
    expect(store.filePath('results', 'jobs/1/out.mp4')).toBe(join(root, 'results', 'jobs', '1', 'out.mp4'));
    expect((await readFile(join(root, 'results', 'jobs', '1', 'out.mp4'))).equals(VIDEO)).toBe(true);
    await expect(store.contentTypeOf('results', 'jobs/1/out.mp4')).resolves.toBe('video/mp4');
  });

  it('overwrites on a retried put and leaves no temporary files behind', async () => {
    await store.put('results', 'jobs/2/out.wav', await source('v1.wav', 'first'), 'audio/wav');
    await store.put('results', 'jobs/2/out.wav', await source('v2.wav', 'second take'), 'audio/x-wav');
    expect(await readFile(store.filePath('results', 'jobs/2/out.wav'), 'utf8')).toBe('second take');
    await expect(store.contentTypeOf('results', 'jobs/2/out.wav')).resolves.toBe('audio/x-wav');
    expect(await readdir(join(root, 'results', 'jobs', '2'))).toEqual(['out.wav']);
    expect(await readdir(join(root, '.tmp'))).toEqual([]);
  });

  it('keeps the previous object whole when a put fails', async () => {
    await store.put('results', 'jobs/3/out.mp4', await source('good.mp4', 'good'), 'video/mp4');
    await expect(store.put('results', 'jobs/3/out.mp4', join(work, 'no-such-file'), 'text/plain')).rejects.toThrow();
    expect(await readFile(store.filePath('results', 'jobs/3/out.mp4'), 'utf8')).toBe('good');
    await expect(store.contentTypeOf('results', 'jobs/3/out.mp4')).resolves.toBe('video/mp4');
    expect(await readdir(join(root, '.tmp'))).toEqual([]);
  });

  it('downloads, and reports a missing object as ObjectNotFoundError', async () => {
    await store.put('results', 'jobs/4/out.mp4', await source('four.mp4', VIDEO), 'video/mp4');
    const to = join(work, 'downloaded.mp4');
    await store.download('results', 'jobs/4/out.mp4', to);
    expect((await readFile(to)).equals(VIDEO)).toBe(true);
    await expect(store.download('results', 'jobs/4/none.mp4', to)).rejects.toBeInstanceOf(ObjectNotFoundError);
    await expect(store.download('results', 'jobs/4', to)).rejects.toBeInstanceOf(ObjectNotFoundError);
    // A bad destination is the caller's problem, not a missing object.
    const badDest = store.download('results', 'jobs/4/out.mp4', join(work, 'no-dir', 'x'));
    await expect(badDest).rejects.toThrow();
    await expect(badDest).rejects.not.toBeInstanceOf(ObjectNotFoundError);
  });

  it('answers exists for objects only, not for prefixes', async () => {
    await store.put('results', 'jobs/5/out.mp4', await source('five.mp4', 'x'), 'video/mp4');
    await expect(store.exists('results', 'jobs/5/out.mp4')).resolves.toBe(true);
    await expect(store.exists('results', 'jobs/5')).resolves.toBe(false);
    await expect(store.exists('results', 'jobs/5/out.mp4/deeper')).resolves.toBe(false);
    await expect(store.exists('empty-bucket', 'x')).resolves.toBe(false);
  });

  it('deletes, and deleting what is not there is not an error', async () => {
    await store.put('results', 'jobs/6/out.mp4', await source('six.mp4', 'x'), 'video/mp4');
    await store.delete('results', 'jobs/6/out.mp4');
    await expect(store.exists('results', 'jobs/6/out.mp4')).resolves.toBe(false);
    await expect(store.contentTypeOf('results', 'jobs/6/out.mp4')).resolves.toBe('application/octet-stream');
    await expect(store.delete('results', 'jobs/6/out.mp4')).resolves.toBeUndefined();
    await expect(store.delete('results', 'jobs')).resolves.toBeUndefined();
    expect(existsSync(join(root, 'results', 'jobs'))).toBe(true);
  });

  it.each([
    ['results', '../escape.txt'],
    ['results', '../../escape.txt'],
    ['results', 'a/../../escape.txt'],
    ['results', '/tmp/escape.txt'],
    ['results', 'a\\..\\..\\escape.txt'],
    ['results', 'escape\0.txt'],
    ['..', 'escape.txt'],
    ['.tmp', 'escape.txt'],
    ['Results', 'escape.txt'],
  ])('refuses bucket %j key %j in every operation', async (bucket, key) => {
    const from = await source('payload.txt', 'payload');
    await expect(store.put(bucket, key, from, 'text/plain')).rejects.toBeInstanceOf(InvalidObjectNameError);
    await expect(store.download(bucket, key, join(work, 'out.txt'))).rejects.toBeInstanceOf(InvalidObjectNameError);
    await expect(store.exists(bucket, key)).rejects.toBeInstanceOf(InvalidObjectNameError);
    await expect(store.delete(bucket, key)).rejects.toBeInstanceOf(InvalidObjectNameError);
    await expect(store.signedReadUrl(bucket, key, 60)).rejects.toBeInstanceOf(InvalidObjectNameError);
    expect(() => store.filePath(bucket, key)).toThrow(InvalidObjectNameError);
    expect(existsSync(join(work, 'escape.txt'))).toBe(false);
    expect(existsSync(join(root, 'escape.txt'))).toBe(false);
  });

  it('signs URLs on the public base URL that verify() accepts until altered', async () => {
    const url = await store.signedReadUrl('results', 'jobs/7/my video.mp4', 600);
    const parsed = new URL(url);
    expect(`${parsed.origin}${parsed.pathname}`).toBe(`${origin}/_storage/results/jobs/7/my%20video.mp4`);
    const expires = Number(parsed.searchParams.get('expires'));
    expect(expires).toBeGreaterThanOrEqual(Math.floor(Date.now() / 1000) + 599);
    expect(expires).toBeLessThanOrEqual(Math.floor(Date.now() / 1000) + 600);
    expect(parsed.searchParams.get('signature')).toMatch(/^[0-9a-f]{64}$/);

    expect(store.verify(targetOf(url))).toEqual({ bucket: 'results', key: 'jobs/7/my video.mp4' });
    expect(store.verify(targetOf(url).replace('jobs/7', 'jobs/8'))).toBeNull();
    expect(store.verify(targetOf(url).replace(`expires=${expires}`, `expires=${expires + 1}`))).toBeNull();
    await expect(store.signedReadUrl('results', 'x', 0)).rejects.toThrow(RangeError);
  });
});

describe('localStorageHandler over HTTP', () => {
  let url: string;

  beforeAll(async () => {
    await store.put('results', 'media/clip 1.mp4', await source('clip.mp4', VIDEO), 'video/mp4');
    url = await store.signedReadUrl('results', 'media/clip 1.mp4', 600);
  });

  it('streams the whole object with its type and length', async () => {
    const res = await send(targetOf(url));
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('video/mp4');
    expect(res.headers['content-length']).toBe(String(VIDEO.length));
    expect(res.headers['accept-ranges']).toBe('bytes');
    expect(res.body.equals(VIDEO)).toBe(true);
  });

  it('works with fetch as a player would use it', async () => {
    const res = await fetch(url, { headers: { Range: 'bytes=0-1' } });
    expect(res.status).toBe(206);
    expect(Buffer.from(await res.arrayBuffer()).equals(VIDEO.subarray(0, 2))).toBe(true);
  });

  it('answers HEAD with the headers only', async () => {
    const res = await send(targetOf(url), { method: 'HEAD' });
    expect(res.status).toBe(200);
    expect(res.headers['content-length']).toBe(String(VIDEO.length));
    expect(res.body.length).toBe(0);
  });

  it.each([
    ['bytes=100-199', 100, 199],
    ['bytes=4000-', 4000, 4095],
    ['bytes=-96', 4000, 4095],
    ['bytes=4090-99999', 4090, 4095],
  ])('serves Range %s as 206', async (range, start, end) => {
    const res = await send(targetOf(url), { headers: { Range: range } });
    expect(res.status).toBe(206);
    expect(res.headers['content-range']).toBe(`bytes ${start}-${end}/${VIDEO.length}`);
    expect(res.headers['content-length']).toBe(String(end - start + 1));
    expect(res.body.equals(VIDEO.subarray(start, end + 1))).toBe(true);
  });

  it('answers 416 for a range past the end', async () => {
    const res = await send(targetOf(url), { headers: { Range: 'bytes=5000-' } });
    expect(res.status).toBe(416);
    expect(res.headers['content-range']).toBe(`bytes */${VIDEO.length}`);
  });

  it('serves the whole object when asked for several ranges', async () => {
    const res = await send(targetOf(url), { headers: { Range: 'bytes=0-1,10-11' } });
    expect(res.status).toBe(200);
    expect(res.body.length).toBe(VIDEO.length);
  });

  it('refuses a tampered signature with 403 signature_invalid', async () => {
    const target = targetOf(url);
    const tampered = target.replace(/signature=([0-9a-f])/, (_m, c: string) => `signature=${c === 'a' ? 'b' : 'a'}`);
    const res = await send(tampered);
    expect(res.status).toBe(403);
    expect(res.headers['content-type']).toBe('application/problem+json');
    expect(JSON.parse(res.body.toString())).toEqual({
      type: 'https://aiprod.dev/problems/signature_invalid',
      title: 'Forbidden',
      status: 403,
      code: 'signature_invalid',
    });
  });

  it('refuses an authentic but expired URL with 403 url_expired', async () => {
    const expired = signPath(SIGNING_KEY, 'results', 'media/clip 1.mp4', Math.floor(Date.now() / 1000) - 1);
    const res = await send(expired);
    expect(res.status).toBe(403);
    expect(JSON.parse(res.body.toString())).toMatchObject({ status: 403, code: 'url_expired' });
  });

  it('refuses a URL signed for another object', async () => {
    const other = await store.signedReadUrl('results', 'media/other.mp4', 600);
    const res = await send(targetOf(other).replace('other.mp4', 'clip%201.mp4'));
    expect(res.status).toBe(403);
  });

  it.each([
    '/_storage/results/../../../etc/passwd',
    '/_storage/results/..%2F..%2F..%2Fetc%2Fpasswd',
    '/_storage/results/%2e%2e/%2e%2e/etc/passwd',
    '/_storage/..%2F..%2Fetc/passwd',
  ])('refuses traversal %s', async (path) => {
    const res = await send(`${path}?expires=9999999999&signature=${'0'.repeat(64)}`);
    expect(res.status).toBe(403);
    expect(JSON.parse(res.body.toString())).toMatchObject({ code: 'signature_invalid' });
  });

  it('answers 404 for a signed URL to an object that is gone', async () => {
    await store.put('results', 'media/temp.mp4', await source('temp.mp4', 'x'), 'video/mp4');
    const temp = await store.signedReadUrl('results', 'media/temp.mp4', 600);
    await store.delete('results', 'media/temp.mp4');
    const res = await send(targetOf(temp));
    expect(res.status).toBe(404);
    expect(res.headers['content-type']).toBe('application/problem+json');
  });

  it('answers 404 for a signed URL to a prefix rather than an object', async () => {
    const prefix = await store.signedReadUrl('results', 'media', 600);
    expect((await send(targetOf(prefix))).status).toBe(404);
  });

  it('serves an empty object', async () => {
    await store.put('results', 'media/empty.bin', await source('empty.bin', ''), 'application/octet-stream');
    const res = await send(targetOf(await store.signedReadUrl('results', 'media/empty.bin', 600)));
    expect(res.status).toBe(200);
    expect(res.headers['content-length']).toBe('0');
    expect(res.body.length).toBe(0);
  });

  it('serves files placed in the tree by other means as octet-stream', async () => {
    await mkdir(join(root, 'library', 'music'), { recursive: true });
    await writeFile(join(root, 'library', 'music', 'calm.mp3'), 'mp3');
    const res = await send(targetOf(await store.signedReadUrl('library', 'music/calm.mp3', 600)));
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/octet-stream');
  });

  it('allows only GET, HEAD and (signed uploads) PUT, and only under /_storage/', async () => {
    const post = await send(targetOf(url), { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe('GET, HEAD, PUT');
    // A read URL does not take a PUT.
    expect((await send(targetOf(url), { method: 'PUT', headers: { 'content-length': '0' } })).status).toBe(403);
    expect((await send('/elsewhere')).status).toBe(404);
  });
});
