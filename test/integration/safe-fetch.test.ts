/**
 * The guard on inputs: every hop of a partner's URL checked, the socket pinned to the checked
 * addresses, redirects, statuses, caps and timeouts; here through an origin that does not answer
 * range requests, whose input is spooled whole (test/integration/net covers ranges).
 */
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { assertPublicAddress, FetchError, openOrigin, type InputSource, type OriginOptions } from '../../shared/net';
import type { HopPolicy } from '../../shared/net/hop';
import { openOriginWithPolicy } from '../../shared/net/origin';

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

let spoolSeq = 0;

/** Each opening its own spool path, so what one leaves behind is its own. */
function options(overrides: Partial<OriginOptions> = {}): OriginOptions {
  spoolSeq += 1;
  return {
    maxBytes: 10 * 1024 * 1024,
    spool: { path: join(dir, `input-${spoolSeq}.spool`), maxBytes: 10 * 1024 * 1024 },
    timeoutMs: 5000,
    allowPrivate: true,
    ...overrides,
  };
}

async function failure(promise: Promise<unknown>): Promise<FetchError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof FetchError) return err;
    throw err;
  }
  throw new Error('expected the opening to fail');
}

/** All of a source's bytes, read back as a reader of it would. */
async function whole(source: InputSource): Promise<Buffer> {
  return buffer(await source.read({ start: 0, end: source.sizeBytes - 1 }, new AbortController().signal));
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

describe('openOrigin with private addresses allowed (a server without range requests)', () => {
  it('keeps the one answer whole in the spool, serves it back, and removes it on close', async () => {
    const opts = options();
    const source = await openOrigin(`${base}/video.mp4?sig=abc`, opts);
    expect(source).toMatchObject({ sizeBytes: VIDEO.length, name: `${base}/video.mp4` });
    expect((await whole(source)).equals(VIDEO)).toBe(true);
    expect(existsSync(opts.spool.path)).toBe(true);
    await source.close();
    expect(existsSync(opts.spool.path)).toBe(false);
    expect(hits).toHaveLength(1);
  });

  it('refuses a declared Content-Length over the cap before writing anything', async () => {
    const opts = options({ maxBytes: LIMIT });
    const err = await failure(openOrigin(`${base}/declared-too-large`, opts));
    expect(err.code).toBe('input_too_large');
    expect(err.message).toContain(`the largest input accepted is ${LIMIT} bytes`);
    expect(existsSync(opts.spool.path)).toBe(false);
  });

  it('stops a chunked body once it passes the cap and removes the partial file', async () => {
    const opts = options({ maxBytes: LIMIT });
    const err = await failure(openOrigin(`${base}/chunked-too-large`, opts));
    expect(err.code).toBe('input_too_large');
    expect(existsSync(opts.spool.path)).toBe(false);
  });

  it('holds a server without range requests to the spool cap, and says why', async () => {
    const opts = options();
    const err = await failure(openOrigin(`${base}/video.mp4`, { ...opts, spool: { ...opts.spool, maxBytes: 4096 } }));
    expect(err.code).toBe('input_too_large');
    expect(err.message).toContain('does not answer range requests');
    expect(err.message).toContain('4 KiB (4096 bytes)');
    expect(existsSync(opts.spool.path)).toBe(false);
  });

  it('accepts a body of exactly maxBytes', async () => {
    const source = await openOrigin(`${base}/video.mp4`, options({ maxBytes: VIDEO.length }));
    expect(source.sizeBytes).toBe(VIDEO.length);
    await source.close();
  });

  it('times out a server that never answers', async () => {
    const started = Date.now();
    const err = await failure(openOrigin(`${base}/hang-before-headers`, options({ timeoutMs: 300 })));
    expect(err.code).toBe('input_timeout');
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('times out a body that stalls, and removes the partial file', async () => {
    const opts = options({ timeoutMs: 300 });
    const err = await failure(openOrigin(`${base}/hang-mid-body`, opts));
    expect(err.code).toBe('input_timeout');
    expect(existsSync(opts.spool.path)).toBe(false);
  });

  it('reports a body cut short as unreachable and removes the partial file', async () => {
    const opts = options();
    const err = await failure(openOrigin(`${base}/short-body`, opts));
    expect(err.code).toBe('input_unreachable');
    expect(existsSync(opts.spool.path)).toBe(false);
  });

  it('reports a non-2xx status with the status, without the query string', async () => {
    const err = await failure(openOrigin(`${base}/missing?X-Goog-Signature=s3cr3t`, options()));
    expect(err.code).toBe('input_http_error');
    expect(err.status).toBe(404);
    expect(err.message).toContain('404');
    expect(err.message).toContain(`${base}/missing`);
    expect(err.message).not.toContain('s3cr3t');
  });

  it('follows a redirect chain, including relative locations', async () => {
    const chained = await openOrigin(`${base}/chain/5`, options());
    expect(chained.name).toBe(`${base}/video.mp4`);
    expect(hits.map((h) => h.path)).toEqual(['/chain/5', '/chain/4', '/chain/3', '/chain/2', '/chain/1', '/video.mp4']);
    await chained.close();

    const relative = await openOrigin(`${base}/relative`, options());
    expect(relative).toMatchObject({ sizeBytes: VIDEO.length, name: `${base}/video.mp4` });
    await relative.close();
  });

  it('refuses more redirects than allowed', async () => {
    const tooLong = await failure(openOrigin(`${base}/chain/6`, options()));
    expect(tooLong.code).toBe('too_many_redirects');
    const custom = await failure(openOrigin(`${base}/chain/2`, options({ maxRedirects: 1 })));
    expect(custom.code).toBe('too_many_redirects');
  });

  it('stops a redirect loop', async () => {
    const err = await failure(openOrigin(`${base}/loop`, options()));
    expect(err.code).toBe('too_many_redirects');
    expect(hits).toHaveLength(6);
  });

  it('still checks the shape of every redirect target', async () => {
    expect((await failure(openOrigin(`${base}/to-ftp`, options()))).code).toBe('url_forbidden');
    expect((await failure(openOrigin(`${base}/to-credentials`, options()))).code).toBe('url_forbidden');
  });

  it('reports a refused connection as unreachable', async () => {
    const closed = createServer();
    closed.listen(0, '127.0.0.1');
    await once(closed, 'listening');
    const deadPort = (closed.address() as AddressInfo).port;
    closed.close();
    await once(closed, 'close');
    const err = await failure(openOrigin(`http://127.0.0.1:${deadPort}/video.mp4`, options()));
    expect(err.code).toBe('input_unreachable');
  });

  it('still refuses non-http schemes', async () => {
    const err = await failure(openOrigin('file:///etc/passwd', options()));
    expect(err.code).toBe('url_forbidden');
  });

  it("rethrows the caller's own abort reason", async () => {
    const controller = new AbortController();
    const reason = new Error('job cancelled');
    setTimeout(() => controller.abort(reason), 50);
    await expect(openOrigin(`${base}/hang-before-headers`, options({ signal: controller.signal }))).rejects.toBe(
      reason,
    );
  });
});

describe('openOrigin with the production address policy', () => {
  it.each([
    ['127.0.0.1', () => `${base}/video.mp4`],
    ['localhost', () => `http://localhost:${port}/video.mp4`],
    ['[::1]', () => `http://[::1]:${port}/video.mp4`],
    ['a numeric alias of 127.0.0.1', () => `http://0x7f000001:${port}/video.mp4`],
    ['the metadata server', () => 'http://169.254.169.254/computeMetadata/v1/'],
    ['the metadata server by name', () => 'http://metadata.google.internal/computeMetadata/v1/'],
  ])('refuses %s without connecting', async (_name, url) => {
    const err = await failure(openOrigin(url(), options({ allowPrivate: false })));
    expect(err.code).toBe('url_forbidden');
    expect(hits).toHaveLength(0);
  });
});

describe('per-hop checks (127.0.0.1 standing in for a public host)', () => {
  it('refuses a redirect from an allowed host to the metadata server', async () => {
    const err = await failure(
      openOriginWithPolicy(`${base}/to-metadata`, options({ allowPrivate: false }), loopbackIsPublic),
    );
    expect(err.code).toBe('url_forbidden');
    expect(err.message).toContain('169.254.169.254');
    expect(err.message).not.toContain('secret-audience');
    expect(hits.map((h) => h.path)).toEqual(['/to-metadata']);
  });

  it('refuses a redirect to another private address', async () => {
    const err = await failure(openOriginWithPolicy(`${base}/to-other-loopback`, options(), loopbackIsPublic));
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
    const err = await failure(openOriginWithPolicy('http://partner.test/video.mp4', options(), policy));
    expect(err.code).toBe('url_forbidden');
    expect(err.message).toContain('partner.test');
    // The internal address a name resolves to is not told back.
    expect(err.message).not.toContain('10.0.0.7');
    expect(hits).toHaveLength(0);
  });

  it('connects to the checked address while sending the hostname as Host', async () => {
    // partner.test exists in no DNS: the socket can only reach the server through the pinned answer.
    const resolve = jest.fn(loopbackIsPublic.resolve);
    const source = await openOriginWithPolicy(`http://partner.test:${port}/video.mp4`, options(), {
      ...loopbackIsPublic,
      resolve,
    });
    expect(source.sizeBytes).toBe(VIDEO.length);
    await source.close();
    expect(hits).toEqual([{ path: '/video.mp4', host: `partner.test:${port}` }]);
    expect(resolve).toHaveBeenCalledTimes(1);
  });

  it('reports a name that does not resolve as unreachable', async () => {
    const policy: HopPolicy = {
      resolve: () => Promise.reject(Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' })),
      checkAddress: assertPublicAddress,
    };
    const err = await failure(openOriginWithPolicy('https://no-such-host.example/v.mp4?sig=x', options(), policy));
    expect(err.code).toBe('input_unreachable');
    expect(err.message).toContain('ENOTFOUND');
    expect(err.message).not.toContain('sig=');
  });

  it('counts a slow resolver against the time cap', async () => {
    const policy: HopPolicy = { resolve: () => new Promise(() => undefined), checkAddress: assertPublicAddress };
    const err = await failure(
      openOriginWithPolicy('https://slow-dns.example/v.mp4', options({ timeoutMs: 200 }), policy),
    );
    expect(err.code).toBe('input_timeout');
  });
});
