/**
 * Webhook test fixtures: rows written straight into the database (a key sealed as the platform
 * seals it), and a receiver that verifies every delivery it gets the way a partner would: the
 * standardwebhooks library for hmac, node:crypto for ed25519.
 */
import { createPublicKey, randomUUID, verify } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Knex } from 'knex';
import { Webhook } from 'standardwebhooks';
import { keyEncryptionKey } from '../../shared/platform';
import { sealKey } from '../../shared/webhooks/keys';
import { newSigningKey, type SigningScheme } from '../../shared/webhooks/signing';

export interface TestWebhook {
  id: string;
  /** What the partner holds: `whsec_...` (hmac) or `whpk_...` (ed25519). */
  shown: string;
  /** The previous key's, when the webhook is mid-rotation. */
  previousShown?: string;
}

export async function insertWebhook(
  k: Knex,
  opts: {
    tenantId: string;
    url: string;
    events?: string[];
    signing?: SigningScheme;
    /** Mid-rotation: a previous key still live for a day. */
    rotating?: boolean;
    status?: 'active' | 'disabled';
  },
): Promise<TestWebhook> {
  const id = randomUUID();
  const signing = opts.signing ?? 'hmac';
  const current = newSigningKey(signing);
  const previous = opts.rotating ? newSigningKey(signing) : undefined;
  const kek = keyEncryptionKey();
  await k('webhooks').insert({
    id,
    tenant_id: opts.tenantId,
    url: opts.url,
    events: opts.events ?? ['job.completed', 'job.failed'],
    signing,
    status: opts.status ?? 'active',
    secret: JSON.stringify(await sealKey(kek, id, current.key)),
    previous_secret: previous ? JSON.stringify(await sealKey(kek, id, previous.key)) : null,
    previous_secret_expires_at: previous ? k.raw("now() + interval '1 day'") : null,
  });
  return { id, shown: current.shown, ...(previous ? { previousShown: previous.shown } : {}) };
}

/** True when `shown` (a `whsec_` secret or `whpk_` public key) verifies the delivery. */
export function verifies(shown: string, body: string, headers: Record<string, string | undefined>): boolean {
  const h = {
    'webhook-id': headers['webhook-id'] ?? '',
    'webhook-timestamp': headers['webhook-timestamp'] ?? '',
    'webhook-signature': headers['webhook-signature'] ?? '',
  };
  if (shown.startsWith('whsec_')) {
    try {
      new Webhook(shown).verify(body, h);
      return true;
    } catch {
      return false;
    }
  }
  // ed25519, as a partner without the library does it: v1a,<base64> over id.timestamp.body.
  const raw = Buffer.from(shown.slice('whpk_'.length), 'base64');
  const publicKey = createPublicKey({
    key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') },
    format: 'jwk',
  });
  const content = Buffer.from(`${h['webhook-id']}.${h['webhook-timestamp']}.${body}`);
  const age = Math.abs(Date.now() / 1000 - Number(h['webhook-timestamp']));
  if (!(age < 300)) return false;
  return h['webhook-signature']
    .split(' ')
    .map((s) => s.split(','))
    .some(
      ([version, sig]) => version === 'v1a' && !!sig && verify(null, content, publicKey, Buffer.from(sig, 'base64')),
    );
}

export interface Received {
  path: string;
  headers: Record<string, string | undefined>;
  body: string;
  json: any;
  at: number;
}

/** What a path answers: a status (and headers), or hold the request until the test lets go. */
export type Behaviour = (req: Received, n: number) => { status: number; headers?: Record<string, string> } | 'hold';

/**
 * One server, one path per webhook. Every request is verified against the keys registered for its
 * path (all must verify); a failure is kept in `problems`, which each test expects empty.
 */
export class Receiver {
  readonly received: Received[] = [];
  readonly problems: string[] = [];
  private readonly behaviours = new Map<string, Behaviour>();
  private readonly keys = new Map<string, string[]>();
  private readonly held: ServerResponse[] = [];
  private server!: Server;
  url = '';

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', () => r()));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  /** A path of its own, answering as `behaviour` says; its deliveries must verify with every key of `keys`. */
  route(behaviour: Behaviour): { url: string; path: string; verifyWith(...keys: string[]): void } {
    const path = `/hook/${randomUUID()}`;
    this.behaviours.set(path, behaviour);
    return { url: `${this.url}${path}`, path, verifyWith: (...keys) => this.keys.set(path, keys) };
  }

  at(path: string): Received[] {
    return this.received.filter((r) => r.path === path);
  }

  /** Requests being held open right now. */
  get holding(): number {
    return this.held.filter((r) => !r.writableEnded).length;
  }

  /** Answers every held request with `status`. */
  release(status = 200): void {
    for (const res of this.held.splice(0)) if (!res.writableEnded) res.writeHead(status).end();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const path = (req.url ?? '/').split('?')[0]!;
    const headers = Object.fromEntries(
      Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : v]),
    );
    let json: unknown = null;
    try {
      json = JSON.parse(body);
    } catch {
      this.problems.push(`${path}: body is not JSON`);
    }
    const got: Received = { path, headers, body, json, at: Date.now() };
    this.received.push(got);
    if (req.method !== 'POST') this.problems.push(`${path}: method ${req.method}`);
    if (headers['content-type'] !== 'application/json')
      this.problems.push(`${path}: content-type ${headers['content-type']}`);
    for (const key of this.keys.get(path) ?? []) {
      if (!verifies(key, body, headers))
        this.problems.push(`${path}: ${headers['webhook-id']} does not verify with ${key.slice(0, 9)}...`);
    }
    const behaviour = this.behaviours.get(path);
    const answer = behaviour ? behaviour(got, this.at(path).length) : { status: 404 };
    if (answer === 'hold') {
      this.held.push(res);
      return;
    }
    res.writeHead(answer.status, answer.headers).end();
  }

  async stop(): Promise<void> {
    this.release();
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

/** Polls `check` until it returns something truthy. */
export async function until<T>(check: () => Promise<T> | T, what: string, timeoutMs = 30_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
