/**
 * API keys: `sk_live_<lookup>_<secret>`. The lookup half finds the row; only SHA-256 of the secret
 * half is stored (the secret is 256 random bits, so a fast hash is enough and a leaked table is
 * useless) and it is compared in constant time.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Knex } from 'knex';
import { pooledWrites } from '../db/pooled-writes';

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

interface KeyRow {
  id: string;
  lookup: string;
  secret_hash: Buffer;
  last_used_at: Date | string | null;
  expires_at: Date | string | null;
  tenant_id: string;
  name: string;
  tier: Tier;
}

/** last_used_at is touched at most once a minute: a write per request would cost more than the request. */
const TOUCH_EVERY_MS = 60_000;

/** Keys whose answers are wanted together: one query for them all, and one touch of those used. */
async function verifyKeys(k: Knex, presented: string[]): Promise<(Principal | null)[]> {
  const parts = presented.map(keyParts);
  const lookups = [...new Set(parts.flatMap((p) => (p ? [p.lookup] : [])))];
  const rows: KeyRow[] =
    lookups.length === 0
      ? []
      : await k('api_keys as k')
          .join('tenants as t', 't.id', 'k.tenant_id')
          .whereIn('k.lookup', lookups)
          .whereNull('k.revoked_at')
          // The database's clock decides, as it set the end.
          .where((q) => {
            q.whereNull('k.expires_at').orWhere('k.expires_at', '>', k.fn.now());
          })
          .select(
            'k.id',
            'k.lookup',
            'k.secret_hash',
            'k.last_used_at',
            'k.expires_at',
            't.id as tenant_id',
            't.name',
            't.tier',
          );
  const byLookup = new Map(rows.map((r) => [r.lookup, r]));
  const matched = parts.map((p) => {
    const row = p ? byLookup.get(p.lookup) : undefined;
    return row && p && timingSafeEqual(sha256(p.secret), row.secret_hash) ? row : undefined;
  });
  const untouched = (r: KeyRow): boolean =>
    !r.last_used_at || Date.now() - new Date(r.last_used_at).getTime() > TOUCH_EVERY_MS;
  const touch = [...new Set(matched.flatMap((r) => (r && untouched(r) ? [r.id] : [])))];
  if (touch.length > 0) await k('api_keys').whereIn('id', touch).update({ last_used_at: k.fn.now() });
  return matched.map((row) =>
    row
      ? {
          tenantId: row.tenant_id,
          tenantName: row.name,
          tier: row.tier,
          keyId: row.id,
          ...(row.expires_at ? { expiresAt: new Date(row.expires_at) } : {}),
        }
      : null,
  );
}

/** Enough for a cold instance's first burst of tenants in a few statements. */
const KEYS_PER_QUERY = 100;

const verifiers = new WeakMap<Knex, (presented: string) => Promise<Principal | null>>();

/**
 * The key's principal, or null for a malformed, unknown, revoked or expired key. Keys verified
 * while a verification is in flight go together in the next query (db/pooled-writes.ts): a cold
 * instance, or one whose remembered keys all ended at once, meets its tenants' first requests
 * with a few queries rather than one (and a touch) per key.
 */
export function verifyApiKey(k: Knex, presented: string): Promise<Principal | null> {
  let verify = verifiers.get(k);
  if (!verify) {
    verify = pooledWrites((keys: string[]) => verifyKeys(k, keys), {
      maxItems: KEYS_PER_QUERY,
      itemError: () => false,
    });
    verifiers.set(k, verify);
  }
  return verify(presented);
}

/** Enough for every active tenant of an instance; past it the oldest entry goes. */
const MAX_ENTRIES = 10_000;

interface Remembered {
  principal: Principal;
  /** When it stops being used: the TTL after its verification, or the key's own end if sooner. */
  until: number;
  /** From then on, a use verifies it again in the background, once. */
  refreshAt: number;
  refreshing: boolean;
}

// Keyed by a hash of the presented key: the map never holds a usable secret.
const entries = new Map<string, Remembered>();

const digest = (presented: string): string => sha256(presented).toString('base64url');

function remember(id: string, principal: Principal, ttlSeconds: number): void {
  // Set anew, so that the map's order stays the order of verification and the oldest goes first.
  entries.delete(id);
  if (entries.size >= MAX_ENTRIES) entries.delete(entries.keys().next().value!);
  const now = Date.now();
  // Never past the key's own end: an expired token must not live on in the cache.
  const until = Math.min(now + ttlSeconds * 1000, principal.expiresAt?.getTime() ?? Infinity);
  entries.set(id, { principal, until, refreshAt: now + ttlSeconds * 500, refreshing: false });
}

/**
 * Verifies a remembered key again off the request path. Only the entry it started from is
 * replaced: a key forgotten meanwhile (revoked here) stays forgotten. A failed verification
 * leaves the entry to end at its time, when the next request verifies the key itself.
 */
function refresh(k: Knex, presented: string, id: string, entry: Remembered, ttlSeconds: number): void {
  entry.refreshing = true;
  verifyApiKey(k, presented).then(
    (principal) => {
      if (entries.get(id) !== entry) return;
      if (principal) remember(id, principal, ttlSeconds);
      else entries.delete(id);
    },
    () => undefined,
  );
}

/**
 * The principal of a key authenticate verified on this instance and still remembers, else
 * undefined: read without a promise, so a request with a warm key takes no asynchronous step for
 * it. A key in use past half its TTL is verified again in the background, so that a tenant's
 * steady traffic never waits for its key's verification, and all remembered keys do not end at
 * once; a revocation elsewhere still shows within the TTL.
 */
export function rememberedPrincipal(k: Knex, presented: string, ttlSeconds: number): Principal | undefined {
  if (ttlSeconds <= 0) return undefined;
  const id = digest(presented);
  const entry = entries.get(id);
  const now = Date.now();
  if (!entry || entry.until <= now) return undefined;
  if (!entry.refreshing && now >= entry.refreshAt) refresh(k, presented, id, entry, ttlSeconds);
  return entry.principal;
}

/**
 * verifyApiKey, remembered for a few seconds per instance, so an authenticated request costs no
 * database round trip of its own while its key is warm. The price is bounded: a key revoked
 * elsewhere keeps working on this instance for at most the TTL; revoked here, it is forgotten at
 * once. Unknown keys are never remembered, so a guess always reaches the database; a key with an
 * end is remembered until that end at most.
 */
export async function authenticate(k: Knex, presented: string, ttlSeconds: number): Promise<Principal | null> {
  if (ttlSeconds <= 0) return verifyApiKey(k, presented);
  const warm = rememberedPrincipal(k, presented, ttlSeconds);
  if (warm) return warm;
  const id = digest(presented);
  entries.delete(id);
  const principal = await verifyApiKey(k, presented);
  if (principal) remember(id, principal, ttlSeconds);
  return principal;
}

/** Forgets a key at once in this process (it was revoked here). */
function forgetKey(keyId: string): void {
  for (const [id, entry] of entries) if (entry.principal.keyId === keyId) entries.delete(id);
}
