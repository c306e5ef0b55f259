/**
 * The signed URL of a job's event stream, for clients that cannot send an Authorization header (a
 * browser's EventSource): `/pipeline/{id}/events?token=<tenant>.<expires>.<mac>`, where the MAC is
 * HMAC-SHA256 over the job id, the tenant and the expiry (unix seconds). It grants that one stream
 * to that one tenant until it expires, nothing else.
 *
 * The key is derived (HKDF-SHA256, a label of its own) from a secret the functions already hold:
 * in local mode the local signing key, on Google Cloud the database URL, which pipeline-status
 * (signs) and pipeline-events (verifies) both read from the `database-url` secret. No new secret
 * to create or rotate; whoever could forge a token holds the database password already. A new
 * password ends the URLs signed before it, which clients survive: they ask GET /pipeline/{id}
 * for a new one, as they must every hour anyway.
 */
import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import { config, type Config } from '../config';
import { localSigningKey } from '../platform';

/** How long a signed events URL works. */
export const EVENTS_URL_TTL_SECONDS = 3600;
const LABEL = 'aiprod pipeline-events url v1';
const TOKEN = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.(\d{1,12})\.([A-Za-z0-9_-]{43})$/;

// Per configuration: tests (and only they) switch it between cases.
const keys = new WeakMap<Config, Buffer>();

function signingKey(): Buffer {
  const c = config();
  let key = keys.get(c);
  if (!key) {
    const secret = c.AIPROD_MODE === 'gcp' ? c.DATABASE_URL : localSigningKey();
    if (!secret) throw new Error('DATABASE_URL is required to sign events URLs');
    key = Buffer.from(hkdfSync('sha256', secret, '', LABEL, 32));
    keys.set(c, key);
  }
  return key;
}

const mac = (key: Buffer, jobId: string, tenantId: string, expires: string): Buffer =>
  createHmac('sha256', key).update(`${jobId}\n${tenantId}\n${expires}`).digest();

/** The token for the job's stream, valid until `expiresUnix`. */
export function eventsToken(jobId: string, tenantId: string, expiresUnix: number): string {
  const expires = String(Math.floor(expiresUnix));
  return `${tenantId}.${expires}.${mac(signingKey(), jobId, tenantId, expires).toString('base64url')}`;
}

/** The URL a partner opens the job's stream with, signed for an hour from `nowMs`. */
export function eventsUrl(jobId: string, tenantId: string, nowMs = Date.now()): { url: string; expiresAt: Date } {
  const expiresUnix = Math.floor(nowMs / 1000) + EVENTS_URL_TTL_SECONDS;
  const token = eventsToken(jobId, tenantId, expiresUnix);
  return {
    url: `${config().publicUrl}/pipeline/${jobId}/events?token=${token}`,
    expiresAt: new Date(expiresUnix * 1000),
  };
}

export type EventsTokenCheck =
  { ok: true; tenantId: string } | { ok: false; code: 'signature_invalid' | 'url_expired' };

/**
 * Whether `token` grants the stream of `jobId`. The MAC is checked before the expiry, so
 * `url_expired` is only ever said of a token we issued.
 */
export function checkEventsToken(jobId: string, token: string, nowMs = Date.now()): EventsTokenCheck {
  const m = TOKEN.exec(token);
  if (!m) return { ok: false, code: 'signature_invalid' };
  const [, tenantId, expires, given] = m as unknown as [string, string, string, string];
  const expected = mac(signingKey(), jobId.toLowerCase(), tenantId, expires).toString('base64url');
  // The text is compared, not its decoding: the last of 43 characters carries two spare bits, so
  // four spellings decode to the same MAC, and only the one we issued is the token.
  if (!timingSafeEqual(Buffer.from(given), Buffer.from(expected))) return { ok: false, code: 'signature_invalid' };
  if (Number(expires) * 1000 <= nowMs) return { ok: false, code: 'url_expired' };
  return { ok: true, tenantId };
}
