/**
 * A partner's file server for inputs that answers range requests as RFC 9110 has it (or, told
 * so, ignores them as plain servers do), and records every request: what was asked, what was
 * sent, and whether the reader went away before the end.
 */
import { createReadStream, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseRange } from '../../shared/storage/byte-range';

export interface OriginHit {
  path: string;
  host: string | undefined;
  range: string | undefined;
  status: number;
  /** Body bytes written so far. */
  sent: number;
  /** Resolves when the answer is over: `true` when the connection closed before the whole body was sent. */
  cut: Promise<boolean>;
}

export interface RangeOrigin {
  url: string;
  port: number;
  hits: OriginHit[];
  close(): Promise<void>;
}

export interface RangeOriginOptions {
  /** false: every GET is answered 200 with the whole file, as by a server without range support. */
  ranges?: boolean;
  /** Paths answered with a 302 to another path. */
  redirects?: Record<string, string>;
  /** The ETag of each answer, given how many requests came before it. */
  etag?: (request: number) => string;
  /** Called after every chunk of a body is written: lets a test look around while the input is read. */
  onChunk?: () => void;
}

/** Serves `files` (URL path -> file on disk) on 127.0.0.1. */
export async function serveRanges(files: Record<string, string>, opts: RangeOriginOptions = {}): Promise<RangeOrigin> {
  const hits: OriginHit[] = [];
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    let settle: (cut: boolean) => void = () => undefined;
    const hit: OriginHit = {
      path,
      host: req.headers.host,
      range: req.headers.range,
      status: 0,
      sent: 0,
      cut: new Promise((resolve) => (settle = resolve)),
    };
    const request = hits.length;
    hits.push(hit);
    res.on('close', () => settle(!res.writableFinished));
    const answer = (status: number, headers: Record<string, string | number> = {}): void => {
      hit.status = status;
      res.writeHead(status, headers);
    };
    const redirect = opts.redirects?.[path];
    const file = files[path];
    if (redirect || !file) {
      answer(redirect ? 302 : 404, redirect ? { Location: redirect } : {});
      res.end();
      return;
    }
    const size = statSync(file).size;
    const range = opts.ranges === false ? null : parseRange(req.headers.range, size);
    const etag: Record<string, string> = opts.etag ? { ETag: opts.etag(request) } : {};
    if (range === 'unsatisfiable') {
      answer(416, { 'Content-Range': `bytes */${size}` });
      res.end();
      return;
    }
    const { start, end } = range ?? { start: 0, end: size - 1 };
    answer(range ? 206 : 200, {
      'Content-Type': 'video/mp4',
      'Content-Length': end - start + 1,
      ...(opts.ranges === false ? {} : { 'Accept-Ranges': 'bytes' }),
      ...(range ? { 'Content-Range': `bytes ${start}-${end}/${size}` } : {}),
      ...etag,
    });
    const body = createReadStream(file, { start, end, highWaterMark: 64 * 1024 });
    body.on('data', (chunk) => {
      hit.sent += chunk.length;
      if (!res.write(chunk)) body.pause();
      opts.onChunk?.();
    });
    res.on('drain', () => body.resume());
    body.on('end', () => res.end());
    res.on('close', () => body.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    hits,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
