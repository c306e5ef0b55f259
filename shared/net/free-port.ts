import { createServer } from 'node:net';

/** A TCP port free right now on the loopback interface (someone else may still take it before it is bound). */
export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const server = createServer();
    server.unref();
    server.on('error', rej);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (address && typeof address === 'object' ? res(address.port) : rej(new Error('no port'))));
    });
  });
}
