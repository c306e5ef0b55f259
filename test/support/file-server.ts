/** A local HTTP file server for inputs, optionally throttled so a job can be caught mid-flight. */
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, normalize } from 'node:path';

export interface FileServer {
  url: string;
  close(): Promise<void>;
}

export async function serveDir(dir: string, opts: { bytesPerSecond?: number } = {}): Promise<FileServer> {
  const server: Server = createServer((req, res) => {
    const file = join(dir, normalize(decodeURIComponent((req.url ?? '/').split('?')[0]!)).replace(/^(\.\.[/\\])+/, ''));
    if (!existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': statSync(file).size });
    const stream = createReadStream(file, { highWaterMark: 16 * 1024 });
    if (!opts.bytesPerSecond) return void stream.pipe(res);
    const delay = (16 * 1024 * 1000) / opts.bytesPerSecond;
    stream.on('data', (chunk) => {
      stream.pause();
      res.write(chunk);
      setTimeout(() => stream.resume(), delay);
    });
    stream.on('end', () => res.end());
    res.on('close', () => stream.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
