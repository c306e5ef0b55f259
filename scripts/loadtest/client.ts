/**
 * The load test's HTTP client: node:http on one keep-alive agent, so that the client costs little
 * CPU beside the stack on the same machine. A request that gets no whole answer within the timeout
 * fails as a timeout; a refused or broken connection as a connection error.
 */
import { Agent, request } from 'node:http';

export interface Call {
  method: 'GET' | 'POST' | 'PUT';
  path: string;
  headers: Record<string, string>;
  body?: string | Buffer;
}

export interface Answer {
  status: number;
  body: string;
}

export class CallFailed extends Error {
  constructor(
    readonly kind: 'timeout' | 'connection',
    detail: string,
  ) {
    super(detail);
  }
}

/**
 * Requests beyond this many at once wait in the agent for a socket; their latency, counted from
 * when they were due, still shows the wait. Far above what the stack serves at once (its gateway
 * answers a request in milliseconds), so it is not the client that holds the offered rate back.
 */
const MAX_SOCKETS = 512;
/**
 * An idle socket is closed after this long, before the server's own keep-alive timeout (Node's
 * default, 5 s) can close it under a request just sent on it.
 */
const IDLE_SOCKET_MS = 4000;

export class HttpClient {
  private readonly agent = new Agent({ keepAlive: true, maxSockets: MAX_SOCKETS, timeout: IDLE_SOCKET_MS });

  constructor(
    private readonly base: URL,
    private readonly timeoutMs: number,
  ) {}

  async send(call: Call): Promise<Answer> {
    try {
      return await this.once(call, false);
    } catch (err) {
      // The server may close an idle keep-alive socket just as a request goes out on it; Node's
      // documented remedy is one retry. Any other failure, or a second reset, is the answer.
      if (err instanceof StaleSocket) return this.once(call, true);
      throw err;
    }
  }

  close(): void {
    this.agent.destroy();
  }

  private once(call: Call, retried: boolean): Promise<Answer> {
    return new Promise((res, rej) => {
      const req = request(new URL(call.path, this.base), {
        method: call.method,
        headers: call.headers,
        agent: this.agent,
      });
      const timeout = new CallFailed('timeout', `no answer within ${this.timeoutMs} ms`);
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        req.destroy(timeout);
      }, this.timeoutMs);
      const fail = (err: NodeJS.ErrnoException): void => {
        clearTimeout(timer);
        if (timedOut) rej(timeout);
        else if (!retried && req.reusedSocket && err.code === 'ECONNRESET') rej(new StaleSocket());
        else rej(new CallFailed('connection', err.code ?? err.message));
      };
      req.on('response', (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          clearTimeout(timer);
          res({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') });
        });
        response.on('error', fail);
      });
      req.on('error', fail);
      req.end(call.body);
    });
  }
}

class StaleSocket extends Error {}
