/**
 * API keys: `sk_live_<lookup>_<secret>`. The lookup half finds the row; only SHA-256 of the secret
 * half is stored (the secret is 256 random bits, so a fast hash is enough and a leaked table is
 * useless) and it is compared in constant time.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Knex } from 'knex';

export type Tier = 'free' | 'pro' | 'enterprise';
export const TIERS: readonly Tier[] = ['free', 'pro', 'enterprise'];

export interface Principal {
  tenantId: string;
  tenantName: string;
  tier: Tier;
  keyId: string;
  /** When the key stops working; only keys issued with an end have one (POST /auth/login's tokens). */
  expiresAt?: Date;
}

const KEY_FORMAT = /^sk_live_([A-Za-z0-9]{12})_([A-Za-z0-9_-]{43})$/;

/** A key's halves, or null when it is not one of ours. The secret is base64url: it may hold `_`. */
export function keyParts(key: string): { lookup: string; secret: string } | null {
  const m = KEY_FORMAT.exec(key);
  return m ? { lookup: m[1]!, secret: m[2]! } : null;
}

const sha256 = (s: string): Buffer => createHash('sha256').update(s).digest();

function newKeyParts(): { lookup: string; secret: string } {
  const lookup = randomBytes(9).toString('base64url').replace(/[-_]/g, '0').slice(0, 12);
  return { lookup, secret: randomBytes(32).toString('base64url') };
}

export async function createApiKey(
  k: Knex,
  tenant: { name: string; tier: Tier },
  label?: string,
): Promise<{ key: string; keyId: string; tenantId: string }> {
  return k.transaction(async (trx) => {
    const [row] = await trx('tenants')
      .insert({ name: tenant.name, tier: tenant.tier })
      .onConflict('name')
      .merge({ tier: tenant.tier })
      .returning(['id']);
    const { lookup, secret } = newKeyParts();
    const [key] = await trx('api_keys')
      .insert({ tenant_id: row.id, lookup, secret_hash: sha256(secret), label: label ?? null })
      .returning(['id']);
    return { key: `sk_live_${lookup}_${secret}`, keyId: key.id as string, tenantId: row.id as string };
  });
}

export async function revokeApiKey(k: Knex, keyId: string): Promise<boolean> {
  const n = await k('api_keys').where({ id: keyId }).whereNull('revoked_at').update({ revoked_at: k.fn.now() });
  forgetKey(keyId);
  return n > 0;
}

/**
 * An API token for an Identity Platform user, in the tenant the user is mapped to (tenant_users),
 * valid for `ttlSeconds`: an API key like any other, with an end. Null when the user belongs to
 * no tenant. One statement: the mapping is read, the user's expired tokens are dropped (so
 * logins do not pile up rows) and the token is written together, so a user removed meanwhile
 * gets none.
 */
export async function issueUserToken(
  k: Knex,
  uid: string,
  ttlSeconds: number,
): Promise<{ key: string; keyId: string; expiresAt: Date; tenant: { id: string; name: string; tier: Tier } } | null> {
  const { lookup, secret } = newKeyParts();
  const result = await k.raw(
    `WITH purged AS (
       DELETE FROM api_keys WHERE user_uid = :uid AND expires_at <= now()
     ), issued AS (
       INSERT INTO api_keys (tenant_id, lookup, secret_hash, label, user_uid, expires_at)
       SELECT u.tenant_id, :lookup, :hash, 'login', u.uid, now() + make_interval(secs => :ttl)
       FROM tenant_users u WHERE u.uid = :uid
       RETURNING id, tenant_id, expires_at
     )
     SELECT i.id, i.expires_at, t.id AS tenant_id, t.name, t.tier
     FROM issued i JOIN tenants t ON t.id = i.tenant_id`,
    { uid, lookup, hash: sha256(secret), ttl: ttlSeconds },
  );
  const row = result.rows[0];
  if (!row) return null;
  return {
    key: `sk_live_${lookup}_${secret}`,
    keyId: row.id,
    expiresAt: new Date(row.expires_at),
    tenant: { id: row.tenant_id, name: row.name, tier: row.tier },
  };
}

/** The key's principal, or null for a malformed, unknown, revoked or expired key. */
export async function verifyApiKey(k: Knex, presented: string): Promise<Principal | null> {
  const parts = keyParts(presented);
  if (!parts) return null;
  const { lookup, secret } = parts;
  const row = await k('api_keys as k')
    .join('tenants as t', 't.id', 'k.tenant_id')
    .where('k.lookup', lookup)
    .whereNull('k.revoked_at')
    // The database's clock decides, as it set the end.
    .where((q) => {
      q.whereNull('k.expires_at').orWhere('k.expires_at', '>', k.fn.now());
    })
    .first('k.id', 'k.secret_hash', 'k.last_used_at', 'k.expires_at', 't.id as tenant_id', 't.name', 't.tier');
  if (!row) return null;
  if (!timingSafeEqual(sha256(secret), row.secret_hash as Buffer)) return null;
  // Touch last_used_at at most once a minute: a write per request would cost more than the request.
  if (!row.last_used_at || Date.now() - new Date(row.last_used_at).getTime() > 60_000) {
    await k('api_keys').where({ id: row.id }).update({ last_used_at: k.fn.now() });
  }
  return {
    tenantId: row.tenant_id,
    tenantName: row.name,
    tier: row.tier,
    keyId: row.id,
    ...(row.expires_at ? { expiresAt: new Date(row.expires_at) } : {}),
  };
}

/** Enough for every active tenant of an instance; past it the oldest entry goes. */
const MAX_ENTRIES = 10_000;

// Keyed by a hash of the presented key: the map never holds a usable secret.
const entries = new Map<string, { principal: Principal; until: number }>();

const digest = (presented: string): string => sha256(presented).toString('base64url');

/**
 * verifyApiKey, remembered for a few seconds per instance, so an authenticated request costs no
 * database round trip of its own while its key is warm. The price is bounded: a key revoked
 * elsewhere keeps working on this instance for at most the TTL; revoked here, it is forgotten at
 * once. Unknown keys are never remembered, so a guess always reaches the database; a key with an
 * end is remembered until that end at most.
 */
export async function authenticate(k: Knex, presented: string, ttlSeconds: number): Promise<Principal | null> {
  if (ttlSeconds <= 0) return verifyApiKey(k, presented);
  const id = digest(presented);
  const hit = entries.get(id);
  if (hit && hit.until > Date.now()) return hit.principal;
  entries.delete(id);
  const principal = await verifyApiKey(k, presented);
  if (principal) {
    if (entries.size >= MAX_ENTRIES) entries.delete(entries.keys().next().value!);
    // Never past the key's own end: an expired token must not live on in the cache.
    const until = Math.min(Date.now() + ttlSeconds * 1000, principal.expiresAt?.getTime() ?? Infinity);
    entries.set(id, { principal, until });
  }
  return principal;
}

/** Forgets a key at once in this process (it was revoked here). */
function forgetKey(keyId: string): void {
  for (const [id, entry] of entries) if (entry.principal.keyId === keyId) entries.delete(id);
}
