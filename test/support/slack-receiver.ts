/**
 * Stand-ins for Cloud Monitoring and Slack in alert tests: incident notifications as the Pub/Sub
 * channel publishes them (the fixtures in test/fixtures/cloud-monitoring, each given an incident
 * id of its own), and a local HTTP server that answers as an incoming webhook (`ok`) or as the Web
 * API's chat.postMessage (`{ok, channel, ts}`), or as told, and keeps every request it got.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

export type IncidentFixture =
  'open-with-links' | 'closed-with-links' | 'open-without-links' | 'closed-without-links' | 'test-notification';

/**
 * A fixture's notification under an incident id of its own (in its URL too); `incidentId` makes
 * the opening and closing of one incident share one.
 */
export function incidentNotification(fixture: IncidentFixture, incidentId = newIncidentId()): any {
  const text = readFileSync(join(__dirname, '..', 'fixtures', 'cloud-monitoring', `${fixture}.json`), 'utf8');
  const original = (JSON.parse(text) as { incident: { incident_id: string } }).incident.incident_id;
  return JSON.parse(text.split(`"${original}"`).join(`"${incidentId}"`).split(`/${original}?`).join(`/${incidentId}?`));
}

/** An id shaped as Cloud Monitoring's (`0.` and 12 base-36 characters). */
export const newIncidentId = (): string => `0.${[...randomBytes(12)].map((b) => (b % 36).toString(36)).join('')}`;

export interface SlackRequest {
  path: string;
  query: string;
  headers: Record<string, string | undefined>;
  body: any;
}

export interface SlackReply {
  status: number;
  headers?: Record<string, string>;
  body?: string;
}

/** What the server answers the n-th request (from 1) of an incident; 'hold' keeps it waiting until `release`. */
export type SlackBehaviour = (req: SlackRequest, n: number) => SlackReply | 'hold';

export const webhookOk: SlackBehaviour = () => ({ status: 200, body: 'ok' });

/** Answers as chat.postMessage does: the channel's id and the message's ts, one per message. */
export function webApiOk(): SlackBehaviour {
  let seq = 0;
  return (req) => {
    seq += 1;
    const ts = `${1_746_178_800 + seq}.${String(seq).padStart(6, '0')}`;
    return {
      status: 200,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ok: true, channel: req.body?.channel ?? 'C0000', ts }),
    };
  };
}

export class SlackReceiver {
  readonly requests: SlackRequest[] = [];
  behaviour: SlackBehaviour = webhookOk;
  private readonly held: ServerResponse[] = [];
  private server!: Server;
  url = '';

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', () => r()));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  /** The requests that carried `incidentId` (every message names its incident). */
  about(incidentId: string): SlackRequest[] {
    return this.requests.filter((r) => JSON.stringify(r.body).includes(incidentId));
  }

  get holding(): number {
    return this.held.filter((r) => !r.writableEnded).length;
  }

  release(reply: SlackReply = { status: 200, body: 'ok' }): void {
    for (const res of this.held.splice(0))
      if (!res.writableEnded) res.writeHead(reply.status, reply.headers).end(reply.body);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const [path, query = ''] = (req.url ?? '/').split('?');
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // kept as text: the test asserts on it
    }
    const headers = Object.fromEntries(
      Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : v]),
    );
    const got: SlackRequest = { path: path!, query, headers, body };
    this.requests.push(got);
    const incident = /0\.[0-9a-z]{12}/.exec(JSON.stringify(body))?.[0];
    const n = incident ? this.about(incident).length : this.requests.length;
    const reply = this.behaviour(got, n);
    if (reply === 'hold') {
      this.held.push(res);
      return;
    }
    res.writeHead(reply.status, reply.headers).end(reply.body);
  }

  async stop(): Promise<void> {
    this.release();
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}
