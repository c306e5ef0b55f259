import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assertPublicAddress, downloadToFile, FetchError, type DownloadOptions } from '../../shared/net';
import { fetchToFile, type HopPolicy } from '../../shared/net/download';

const VIDEO = Buffer.alloc(64 * 1024, 7);
const LIMIT = 1000;

let server: Server;
let port: number;
let base: string;
let dir: string;
const hits: { path: string; host: string | undefined }[] = [];

function redirect(res: ServerResponse, location: string): void {
  res.writeHead(302, { Location: location }).end();
}

function route(req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://x');
  hits.push({ path: url.pathname, host: req.headers.host });
  res.on('error', () => undefined);
  // /chain/<n>: n redirects, then the video.
  const chain = /^\/chain\/([1-9]\d*)$/.exec(url.pathname);
  if (chain) {
    const left = Number(chain[1]);
    return redirect(res, left === 1 ? '/video.mp4' : `/chain/${left - 1}`);
  }
  switch (url.pathname) {
    case '/video.mp4':
      res.writeHead(200, { 'Content-Type': 'video/mp4', 'Content-Length': VIDEO.length }).end(VIDEO);
      return;
    case '/declared-too-large':
      res.writeHead(200, { 'Content-Type': 'video/mp4', 'Content-Length': LIMIT + 1 }).end(Buffer.alloc(LIMIT + 1));
      return;
    case '/chunked-too-large': {
      // No Content-Length: only counting the bytes as they arrive can catch this one.
      res.writeHead(200, { 'Content-Type': 'video/mp4' });
      let sent = 0;
      const tick = setInterval(() => {
        if (res.destroyed || sent > 10 * LIMIT) {
          clearInterval(tick);
          res.end();
          return;
        }
        res.write(Buffer.alloc(600, 1));
        sent += 600;
      }, 20);
      return;
    }
    case '/hang-before-headers':
      return;
    case '/hang-mid-body':
      res.writeHead(200, { 'Content-Type': 'video/mp4', 'Content-Length': 5000 });
      res.write(Buffer.alloc(100));
      return;
    case '/short-body':
      res.writeHead(200, { 'Content-Length': 5000 });
      res.end(Buffer.alloc(100), () => res.socket?.destroy());
      return;
    case '/missing':
      res.writeHead(404).end('nope');
      return;
    case '/relative':
      return redirect(res, 'video.mp4');
    case '/loop':
      return redirect(res, '/loop');
    case '/to-metadata':
      return redirect(
        res,
        'http://169.254.169.254/computeMetadata/v1/instance/service-accounts/default/token?audience=secret-audience',
      );
    case '/to-other-loopback':
      return redirect(res, `http://127.0.0.2:${port}/video.mp4`);
    case '/to-ftp':
      return redirect(res, 'ftp://example.com/video.mp4');
    case '/to-credentials':
      return redirect(res, `http://user:pw@127.0.0.1:${port}/video.mp4`);
    default:
      res.writeHead(500).end();
  }
}

function options(overrides: Partial<DownloadOptions> = {}): DownloadOptions {
  return { maxBytes: 10 * 1024 * 1024, timeoutMs: 5000, allowPrivate: true, ...overrides };
}

async function failure(promise: Promise<unknown>): Promise<FetchError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof FetchError) return err;
    throw err;
  }
  throw new Error('expected the download to fail');
}

/** Pretends 127.0.0.1 is a public address so redirects onward from it meet the real policy. */
const loopbackIsPublic: HopPolicy = {
  resolve: async (hostname) =>
    hostname === 'partner.test'
      ? [{ address: '127.0.0.1', family: 4 }]
      : [{ address: hostname, family: hostname.includes(':') ? 6 : 4 }],
  checkAddress: (ip) => {
    if (ip !== '127.0.0.1') assertPublicAddress(ip);
  },
};

beforeAll(async () => {
  server = createServer(route);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  port = (server.address() as AddressInfo).port;
  base = `http://127.0.0.1:${port}`;
  dir = await mkdtemp(join(tmpdir(), 'safe-fetch-'));
});

afterAll(async () => {
  server.closeAllConnections();
  server.close();
  await rm(dir, { recursive: true, force: true });
});

beforeEach(() => {
  hits.length = 0;
});

describe('downloadToFile with private addresses allowed (local file server)', () => {
  it('writes the body to the file and reports size and type', async () => {
    const dest = join(dir, 'ok.mp4');
    const result = await downloadToFile(`${base}/video.mp4?sig=abc`, dest, options());
    expect(result).toEqual({ bytes: VIDEO.length, contentType: 'video/mp4', finalUrl: `${base}/video.mp4?sig=abc` });
    expect((await readFile(dest)).equals(VIDEO)).toBe(true);
  });

  it('refuses a declared Content-Length over the cap before writing anything', async () => {
    const dest = join(dir, 'declared.mp4');
    const err = await failure(downloadToFile(`${base}/declared-too-large`, dest, options({ maxBytes: LIMIT })));
    expect(err.code).toBe('input_too_large');
    expect(existsSync(dest)).toBe(false);
  });

  it('stops a chunked body once it passes the cap and removes the partial file', async () => {
    const dest = join(dir, 'chunked.mp4');
    const err = await failure(downloadToFile(`${base}/chunked-too-large`, dest, options({ maxBytes: LIMIT })));
    expect(err.code).toBe('input_too_large');
    expect(existsSync(dest)).toBe(false);
  });

  it('accepts a body of exactly maxBytes', async () => {
    const result = await downloadToFile(
      `${base}/video.mp4`,
      join(dir, 'exact.mp4'),
      options({ maxBytes: VIDEO.length }),
    );
    expect(result.bytes).toBe(VIDEO.length);
  });

  it('times out a server that never answers', async () => {
    const started = Date.now();
    const err = await failure(
      downloadToFile(`${base}/hang-before-headers`, join(dir, 'slow.mp4'), options({ timeoutMs: 300 })),
    );
    expect(err.code).toBe('input_timeout');
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('times out a body that stalls, and removes the partial file', async () => {
    const dest = join(dir, 'stall.mp4');
    const err = await failure(downloadToFile(`${base}/hang-mid-body`, dest, options({ timeoutMs: 300 })));
    expect(err.code).toBe('input_timeout');
    expect(existsSync(dest)).toBe(false);
  });

  it('reports a body cut short as unreachable and removes the partial file', async () => {
    const dest = join(dir, 'short.mp4');
    const err = await failure(downloadToFile(`${base}/short-body`, dest, options()));
    expect(err.code).toBe('input_unreachable');
    expect(existsSync(dest)).toBe(false);
  });

  it('reports a non-2xx status with the status, without the query string', async () => {
    const err = await failure(downloadToFile(`${base}/missing?X-Goog-Signature=s3cr3t`, join(dir, 'x'), options()));
    expect(err.code).toBe('input_http_error');
    expect(err.status).toBe(404);
    expect(err.message).toContain('404');
    expect(err.message).toContain(`${base}/missing`);
    expect(err.message).not.toContain('s3cr3t');
  });

  it('follows a redirect chain, including relative locations', async () => {
    const chained = await downloadToFile(`${base}/chain/5`, join(dir, 'chain.mp4'), options());
    expect(chained.finalUrl).toBe(`${base}/video.mp4`);
    expect(hits.map((h) => h.path)).toEqual(['/chain/5', '/chain/4', '/chain/3', '/chain/2', '/chain/1', '/video.mp4']);

    const relative = await downloadToFile(`${base}/relative`, join(dir, 'relative.mp4'), options());
    expect(relative).toMatchObject({ bytes: VIDEO.length, finalUrl: `${base}/video.mp4` });
  });

  it('refuses more redirects than allowed', async () => {
    const tooLong = await failure(downloadToFile(`${base}/chain/6`, join(dir, 'x'), options()));
    expect(tooLong.code).toBe('too_many_redirects');
    const custom = await failure(downloadToFile(`${base}/chain/2`, join(dir, 'x'), options({ maxRedirects: 1 })));
    expect(custom.code).toBe('too_many_redirects');
  });

  it('stops a redirect loop', async () => {
    const err = await failure(downloadToFile(`${base}/loop`, join(dir, 'x'), options()));
    expect(err.code).toBe('too_many_redirects');
    expect(hits).toHaveLength(6);
  });

  it('still checks the shape of every redirect target', async () => {
    expect((await failure(downloadToFile(`${base}/to-ftp`, join(dir, 'x'), options()))).code).toBe('url_forbidden');
    expect((await failure(downloadToFile(`${base}/to-credentials`, join(dir, 'x'), options()))).code).toBe(
      'url_forbidden',
    );
  });

  it('reports a refused connection as unreachable', async () => {
    const closed = createServer();
    closed.listen(0, '127.0.0.1');
    await once(closed, 'listening');
    const deadPort = (closed.address() as AddressInfo).port;
    closed.close();
    await once(closed, 'close');
    const err = await failure(downloadToFile(`http://127.0.0.1:${deadPort}/video.mp4`, join(dir, 'x'), options()));
    expect(err.code).toBe('input_unreachable');
  });

  it('still refuses non-http schemes', async () => {
    const err = await failure(downloadToFile('file:///etc/passwd', join(dir, 'x'), options()));
    expect(err.code).toBe('url_forbidden');
  });

  it("rethrows the caller's own abort reason", async () => {
    const controller = new AbortController();
    const reason = new Error('job cancelled');
    setTimeout(() => controller.abort(reason), 50);
    await expect(
      downloadToFile(`${base}/hang-before-headers`, join(dir, 'x'), options({ signal: controller.signal })),
    ).rejects.toBe(reason);
  });
});

describe('downloadToFile with the production address policy', () => {
  it.each([
    ['127.0.0.1', () => `${base}/video.mp4`],
    ['localhost', () => `http://localhost:${port}/video.mp4`],
    ['[::1]', () => `http://[::1]:${port}/video.mp4`],
    ['a numeric alias of 127.0.0.1', () => `http://0x7f000001:${port}/video.mp4`],
    ['the metadata server', () => 'http://169.254.169.254/computeMetadata/v1/'],
    ['the metadata server by name', () => 'http://metadata.google.internal/computeMetadata/v1/'],
  ])('refuses %s without connecting', async (_name, url) => {
    const err = await failure(downloadToFile(url(), join(dir, 'x'), options({ allowPrivate: false })));
    expect(err.code).toBe('url_forbidden');
    expect(hits).toHaveLength(0);
  });
});

describe('per-hop checks (127.0.0.1 standing in for a public host)', () => {
  it('refuses a redirect from an allowed host to the metadata server', async () => {
    const err = await failure(
      fetchToFile(`${base}/to-metadata`, join(dir, 'x'), options({ allowPrivate: false }), loopbackIsPublic),
    );
    expect(err.code).toBe('url_forbidden');
    expect(err.message).toContain('169.254.169.254');
    expect(err.message).not.toContain('secret-audience');
    expect(hits.map((h) => h.path)).toEqual(['/to-metadata']);
  });

  it('refuses a redirect to another private address', async () => {
    const err = await failure(fetchToFile(`${base}/to-other-loopback`, join(dir, 'x'), options(), loopbackIsPublic));
    expect(err.code).toBe('url_forbidden');
  });

  it('refuses a host when any one of its addresses is private', async () => {
    const policy: HopPolicy = {
      resolve: async () => [
        { address: '127.0.0.1', family: 4 },
        { address: '10.0.0.7', family: 4 },
      ],
      checkAddress: loopbackIsPublic.checkAddress,
    };
    const err = await failure(fetchToFile('http://partner.test/video.mp4', join(dir, 'x'), options(), policy));
    expect(err.code).toBe('url_forbidden');
    expect(err.message).toContain('partner.test');
    // The internal address a name resolves to is not told back.
    expect(err.message).not.toContain('10.0.0.7');
    expect(hits).toHaveLength(0);
  });

  it('connects to the checked address while sending the hostname as Host', async () => {
    // partner.test exists in no DNS: the socket can only reach the server through the pinned answer.
    const resolve = jest.fn(loopbackIsPublic.resolve);
    const result = await fetchToFile(`http://partner.test:${port}/video.mp4`, join(dir, 'pinned.mp4'), options(), {
      ...loopbackIsPublic,
      resolve,
    });
    expect(result.bytes).toBe(VIDEO.length);
    expect(hits).toEqual([{ path: '/video.mp4', host: `partner.test:${port}` }]);
    expect(resolve).toHaveBeenCalledTimes(1);
  });

  it('reports a name that does not resolve as unreachable', async () => {
    const policy: HopPolicy = {
      resolve: () => Promise.reject(Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' })),
      checkAddress: assertPublicAddress,
    };
    const err = await failure(
      fetchToFile('https://no-such-host.example/v.mp4?sig=x', join(dir, 'x'), options(), policy),
    );
    expect(err.code).toBe('input_unreachable');
    expect(err.message).toContain('ENOTFOUND');
    expect(err.message).not.toContain('sig=');
  });

  it('counts a slow resolver against the time cap', async () => {
    const policy: HopPolicy = { resolve: () => new Promise(() => undefined), checkAddress: assertPublicAddress };
    const err = await failure(
      fetchToFile('https://slow-dns.example/v.mp4', join(dir, 'x'), options({ timeoutMs: 200 }), policy),
    );
    expect(err.code).toBe('input_timeout');
  });
});
