/**
 * A job's input served on loopback and read from its origin a range at a time: ffprobe and ffmpeg
 * read an MP4 whose index comes last through it, every range fetched on demand from the pinned
 * address of the final URL; origins without range support are spooled, inputs over the limit
 * refused before their body is read, and readers that go away take their upstream with them.
 */
import { once } from 'node:events';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, get, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from '../../../shared/media';
import { runFfmpeg } from '../../../shared/media/run-ffmpeg';
import {
  assertPublicAddress,
  FetchError,
  openOrigin,
  serveInput,
  type OriginOptions,
  type ServedInput,
} from '../../../shared/net';
import type { HopPolicy } from '../../../shared/net/hop';
import { openOriginWithPolicy } from '../../../shared/net/origin';
import { makeClip, videoPacketsMd5 } from '../../support/media-fixtures';
import { serveRanges, type RangeOrigin } from '../../support/range-origin';

let dir: string;
let clip: string;
let large: string;
let origin: RangeOrigin;
const opened: ServedInput[] = [];

/** md5 of the first video stream's packets, read by ffmpeg while this process serves them (never a sync call). */
async function packetsMd5(input: string): Promise<string> {
  return (await runFfmpeg(['-i', input, '-map', '0:v:0', '-c', 'copy', '-f', 'md5', '-'])).stdout.trim();
}

/** The top-level boxes of an MP4, in file order. */
function boxes(path: string): string[] {
  const data = readFileSync(path);
  const names: string[] = [];
  for (let at = 0; at < data.length;) {
    const size = data.readUInt32BE(at);
    names.push(data.toString('latin1', at + 4, at + 8));
    at += size === 1 ? Number(data.readBigUInt64BE(at + 8)) : size;
  }
  return names;
}

function options(overrides: Partial<OriginOptions> = {}): OriginOptions {
  return {
    maxBytes: 1024 ** 3,
    spool: { path: join(dir, `input-${opened.length}.spool`), maxBytes: 64 * 1024 ** 2 },
    timeoutMs: 5000,
    allowPrivate: true,
    ...overrides,
  };
}

async function serve(url: string, overrides: Partial<OriginOptions> = {}, signal?: AbortSignal): Promise<ServedInput> {
  const served = await serveInput(await openOrigin(url, options(overrides)), { filename: 'input.mp4', signal });
  opened.push(served);
  return served;
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

/** partner.test is 127.0.0.1, which passes as public: the socket reaches the origin only through the pinned answer. */
const partnerDns = (): HopPolicy & { resolve: jest.Mock } => ({
  resolve: jest.fn(async (hostname: string) => {
    if (hostname !== 'partner.test') throw Object.assign(new Error('ENOTFOUND'), { code: 'ENOTFOUND' });
    return [{ address: '127.0.0.1', family: 4 }];
  }),
  checkAddress: (ip: string) => {
    if (ip !== '127.0.0.1') assertPublicAddress(ip);
  },
});

/** A server answering every request with these headers and no body at all. */
async function headersOnly(
  status: number,
  headers: Record<string, string>,
): Promise<{ url: string; server: Server; closed: Promise<void> }> {
  let closed: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (closed = resolve));
  const server = createServer((_req, res) => {
    res.on('close', () => closed());
    res.writeHead(status, headers);
    res.flushHeaders();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/clip.mp4`, server, closed: done };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'input-server-'));
  clip = makeClip(join(dir, 'clip.mp4'), { seconds: 4 });
  large = join(dir, 'large.bin');
  writeFileSync(large, Buffer.alloc(32 * 1024 ** 2, 7));
  origin = await serveRanges(
    { '/clip.mp4': clip, '/large.mp4': large },
    { redirects: { '/go/clip.mp4': '/clip.mp4' } },
  );
});

afterEach(async () => {
  await Promise.all(opened.splice(0).map((s) => s.close()));
  origin.hits.length = 0;
});

afterAll(async () => {
  await origin.close();
  await rm(dir, { recursive: true, force: true });
});

describe('an MP4 whose index comes last, from an origin that answers ranges', () => {
  it('is read by ffprobe and ffmpeg a range at a time, every range from the pinned address', async () => {
    // Made without +faststart: the index (moov) follows the media data, so a reader must seek to it.
    expect(boxes(clip).filter((b) => b === 'mdat' || b === 'moov')).toEqual(['mdat', 'moov']);
    const dns = partnerDns();
    const source = await openOriginWithPolicy(`http://partner.test:${origin.port}/clip.mp4?sig=s3cr3t`, options(), dns);
    const served = await serveInput(source, { filename: 'input.mp4' });
    opened.push(served);

    const facts = await inspect(served.url);
    expect(facts).toMatchObject({
      container: expect.stringContaining('mp4'),
      sizeBytes: readFileSync(clip).length,
      video: { codec: 'h264', width: 320, height: 240 },
      audio: { codec: 'aac' },
    });
    expect(Math.abs(facts.durationSeconds - 4)).toBeLessThan(0.1);
    expect(await packetsMd5(served.url)).toBe(videoPacketsMd5(clip));

    const size = readFileSync(clip).length;
    expect(origin.hits.length).toBeGreaterThan(2);
    for (const hit of origin.hits) {
      expect(hit).toMatchObject({ path: '/clip.mp4', host: `partner.test:${origin.port}`, status: 206 });
      expect(hit.range).toMatch(/^bytes=\d+-\d+$/);
    }
    // The index was fetched where it is, at the end, without reading all that comes before it.
    expect(origin.hits.some((h) => Number(/^bytes=(\d+)/.exec(h.range!)![1]) > size / 2)).toBe(true);
    // One lookup for the whole job, however many ranges.
    expect(dns.resolve).toHaveBeenCalledTimes(1);
    expect(served.failure()).toBeUndefined();
  });

  it('is read by ffprobe past a proxy set in the environment, which is never asked for loopback', async () => {
    const served = await serve(`${origin.url}/clip.mp4`);
    const saved = process.env.http_proxy;
    // Nothing listens on port 9: a tool that went through the proxy would fail to connect.
    process.env.http_proxy = 'http://127.0.0.1:9';
    try {
      expect((await inspect(served.url)).video).toMatchObject({ codec: 'h264' });
    } finally {
      if (saved === undefined) delete process.env.http_proxy;
      else process.env.http_proxy = saved;
    }
  });

  it('answers Range requests as a file server does, under its unguessable path only', async () => {
    const served = await serve(`${origin.url}/clip.mp4`);
    const bytes = readFileSync(clip);
    const read = async (range?: string) => {
      const res = await fetch(served.url, { headers: range ? { range } : {} });
      return { status: res.status, headers: res.headers, body: Buffer.from(await res.arrayBuffer()) };
    };
    const first = await read('bytes=0-99');
    expect(first.status).toBe(206);
    expect(first.headers.get('content-range')).toBe(`bytes 0-99/${bytes.length}`);
    expect(first.body.equals(bytes.subarray(0, 100))).toBe(true);
    expect((await read('bytes=1000-')).body.equals(bytes.subarray(1000))).toBe(true);
    expect((await read('bytes=-50')).body.equals(bytes.subarray(bytes.length - 50))).toBe(true);
    const whole = await read();
    expect(whole.status).toBe(200);
    expect(whole.headers.get('accept-ranges')).toBe('bytes');
    expect(whole.body.equals(bytes)).toBe(true);
    expect((await read(`bytes=${bytes.length}-`)).status).toBe(416);

    const head = await fetch(served.url, { method: 'HEAD' });
    expect(head.headers.get('content-length')).toBe(String(bytes.length));
    const elsewhere = new URL(served.url);
    expect((await fetch(`${elsewhere.origin}/input.mp4`)).status).toBe(404);
    expect((await fetch(served.url, { method: 'POST' })).status).toBe(405);
  });

  it('follows a redirect once, at the start, and reads every range from the final URL', async () => {
    const served = await serve(`${origin.url}/go/clip.mp4`);
    await inspect(served.url);
    expect(origin.hits[0]).toMatchObject({ path: '/go/clip.mp4', status: 302 });
    expect(origin.hits.slice(1).map((h) => h.path)).toEqual(origin.hits.slice(1).map(() => '/clip.mp4'));
    expect(origin.hits.length).toBeGreaterThan(2);
  });

  it('keeps the codes of a failed fetch: a 404 is input_http_error, without the query string', async () => {
    const err = await failure(serve(`${origin.url}/missing.mp4?X-Goog-Signature=s3cr3t`));
    expect(err).toMatchObject({ code: 'input_http_error', status: 404 });
    expect(err.message).toContain(`${origin.url}/missing.mp4`);
    expect(err.message).not.toContain('s3cr3t');
  });
});

describe('an origin without range support', () => {
  it('is read once, whole, into the spool, served from there, and the spool removed on close', async () => {
    const plain = await serveRanges({ '/clip.mp4': clip }, { ranges: false });
    try {
      const spool = join(dir, 'plain.spool');
      const served = await serveInput(
        await openOrigin(`${plain.url}/clip.mp4`, options({ spool: { path: spool, maxBytes: 1024 ** 2 } })),
        {
          filename: 'input.mp4',
        },
      );
      expect(existsSync(spool)).toBe(true);
      expect(await packetsMd5(served.url)).toBe(videoPacketsMd5(clip));
      expect(plain.hits).toHaveLength(1);
      await served.close();
      expect(existsSync(spool)).toBe(false);
    } finally {
      await plain.close();
    }
  });

  it('is refused past the spool cap, naming it', async () => {
    const plain = await serveRanges({ '/clip.mp4': clip }, { ranges: false });
    try {
      const err = await failure(
        serve(`${plain.url}/clip.mp4`, { spool: { path: join(dir, 'capped.spool'), maxBytes: 1024 } }),
      );
      expect(err.code).toBe('input_too_large');
      expect(err.message).toMatch(/does not answer range requests.*1 KiB \(1024 bytes\)/);
      expect(existsSync(join(dir, 'capped.spool'))).toBe(false);
    } finally {
      await plain.close();
    }
  });
});

describe('an input over the limit', () => {
  it.each([
    ['its Content-Range total', 206, { 'Content-Range': 'bytes 0-0/5000000000', 'Content-Length': '1' }],
    ['its Content-Length, from a server without ranges', 200, { 'Content-Length': '5000000000' }],
  ])('is refused from %s before any of its body is read', async (_what, status, headers) => {
    const stub = await headersOnly(status, headers);
    try {
      const err = await failure(serve(stub.url, { maxBytes: 1024 ** 3 }));
      expect(err.code).toBe('input_too_large');
      expect(err.message).toContain('the input is 4.7 GiB (5000000000 bytes)');
      expect(err.message).toContain('the largest input accepted is 1 GiB (1073741824 bytes)');
      // The body was never waited for: the connection is closed at once.
      await stub.closed;
    } finally {
      stub.server.closeAllConnections();
      stub.server.close();
    }
  });
});

describe('reads that end early', () => {
  it('ends the upstream request when the reader drops the connection', async () => {
    const served = await serve(`${origin.url}/large.mp4`);
    const reader = get(served.url);
    const [res] = (await once(reader, 'response')) as [import('node:http').IncomingMessage];
    await once(res, 'data');
    reader.destroy();
    const upstream = origin.hits.at(-1)!;
    expect(await upstream.cut).toBe(true);
    expect(upstream.sent).toBeLessThan(32 * 1024 ** 2);
    expect(served.failure()).toBeUndefined();
  });

  it("ends every read and stops serving when the job's signal fires", async () => {
    const job = new AbortController();
    const served = await serve(`${origin.url}/large.mp4`, {}, job.signal);
    const reader = get(served.url);
    reader.on('error', () => undefined);
    const [res] = (await once(reader, 'response')) as [import('node:http').IncomingMessage];
    await once(res, 'data');
    res.pause();
    job.abort(new Error('cancelled'));
    expect(await origin.hits.at(-1)!.cut).toBe(true);
    await expect(fetch(served.url)).rejects.toThrow();
    expect(served.failure()).toBeUndefined();
  });

  it('fails a read whose origin stops sending with input_timeout, and keeps the failure', async () => {
    const stalling = createServer((req, res) => {
      if (req.headers.range === 'bytes=0-0')
        return void res.writeHead(206, { 'Content-Range': 'bytes 0-0/100000', 'Content-Length': '1' }).end('x');
      res.writeHead(206, { 'Content-Range': 'bytes 0-99999/100000', 'Content-Length': '100000' });
      res.write(Buffer.alloc(1000));
    });
    stalling.listen(0, '127.0.0.1');
    await once(stalling, 'listening');
    try {
      const served = await serve(`http://127.0.0.1:${(stalling.address() as AddressInfo).port}/clip.mp4`, {
        timeoutMs: 300,
      });
      await expect(fetch(served.url).then((r) => r.arrayBuffer())).rejects.toThrow();
      expect(served.failure()).toBeInstanceOf(FetchError);
      expect(served.failure()).toMatchObject({ code: 'input_timeout' });
    } finally {
      stalling.closeAllConnections();
      stalling.close();
    }
  });

  it('fails a read of an input that changed since it was opened', async () => {
    const changing = await serveRanges({ '/clip.mp4': clip }, { etag: (n) => (n === 0 ? '"v1"' : '"v2"') });
    try {
      const served = await serve(`${changing.url}/clip.mp4`);
      expect((await fetch(served.url)).status).toBe(502);
      expect(served.failure()).toMatchObject({ code: 'input_http_error', message: expect.stringContaining('changed') });
    } finally {
      await changing.close();
    }
  });
});
