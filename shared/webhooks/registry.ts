/**
 * Partner webhooks, as partners manage them: registration (the URL checked, the tier's cap kept,
 * the signing key sealed and shown once), the list, one webhook's status, deletion, enabling
 * again, and key rotation. What a partner sees of a webhook is `webhookView`, defined here only;
 * delivery reads the same rows, updates their status and failures, and signs with `liveKeys`.
 * Another tenant's webhook is not found, exactly as a missing one.
 */
import { randomUUID } from 'node:crypto';
import type { LookupAddress } from 'node:dns';
import { isIP } from 'node:net';
import type { Knex } from 'knex';
import * as z from 'zod';
import { lazySchema } from '../validation/lazy-schema';
import type { Principal, Tier } from '../auth/api-keys';
import type { KeyEncryptionKey } from '../crypto/envelope';
import { keysetPage, type Page } from '../db/keyset';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError, type FieldError } from '../errors';
import { assertPublicAddress } from '../net/address-policy';
import type { WebhookViewBody } from '../openapi/schemas/webhooks';
import { FetchError } from '../net/errors';
import { bareHostname, checkHop, systemHopPolicy, type HopPolicy } from '../net/hop';
import { checkUrlShape } from '../net/url-policy';
import { pageParams } from '../validation/page-params';
import { fieldErrors } from '../validation/zod-errors';
import { ROTATION_OVERLAP_SECONDS, sealKey, type WebhookRow } from './keys';
import { newSigningKey, type SigningScheme } from './signing';

/** What a webhook may subscribe to. */
export const WEBHOOK_EVENTS = [
  'job.completed',
  'job.failed',
  'job.cancelled',
  'batch.completed',
  'webhook.test',
] as const;
export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];

export const SIGNING_SCHEMES = ['hmac', 'ed25519'] as const satisfies readonly SigningScheme[];

/** Webhooks a tenant may have, disabled ones included. The free tier has none. */
export const WEBHOOK_LIMITS: Readonly<Record<Tier, number>> = { free: 0, pro: 10, enterprise: 100 };

export const WEBHOOK_URL_MAX_LENGTH = 2048;

/** The longest wait for the URL's host to resolve at registration. */
const RESOLVE_TIMEOUT_MS = 5000;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

// ---------------------------------------------------------------------------------------------
// The view

/** The columns the view reads: never the sealed keys. */
export const WEBHOOK_VIEW_COLUMNS = [
  'id',
  'url',
  'events',
  'signing',
  'status',
  'disabled_reason',
  'disabled_at',
  'consecutive_failures',
  'previous_secret_expires_at',
  'created_at',
  'updated_at',
] as const;
export type WebhookViewRow = Pick<WebhookRow, (typeof WEBHOOK_VIEW_COLUMNS)[number]>;

/** A webhook as every endpoint returns it: the documented shape (shared/openapi/schemas/webhooks.ts). */
export type WebhookView = WebhookViewBody;

const iso = (d: Date | null): string | null => (d ? new Date(d).toISOString() : null);

/** What a partner sees of a webhook (GET /webhooks/{id}, the list, and every answer that returns one). */
export function webhookView(row: WebhookViewRow, now = new Date()): WebhookView {
  const previousLive = row.previous_secret_expires_at !== null && new Date(row.previous_secret_expires_at) > now;
  return {
    id: row.id,
    url: row.url,
    // The column holds what registration accepted: events of WEBHOOK_EVENTS.
    events: row.events as WebhookEvent[],
    signing: row.signing,
    status: row.status,
    ...(row.status === 'disabled' ? { disabled: { reason: row.disabled_reason, at: iso(row.disabled_at) } } : {}),
    consecutive_failures: row.consecutive_failures,
    ...(previousLive ? { rotation: { previous_expires_at: iso(row.previous_secret_expires_at)! } } : {}),
    created_at: iso(row.created_at)!,
    updated_at: iso(row.updated_at)!,
  };
}

// ---------------------------------------------------------------------------------------------
// The URL check

export interface UrlCheckOptions {
  /** AIPROD_ALLOW_PRIVATE_URLS: http, and private or loopback addresses, allowed (local testing only). */
  allowPrivate: boolean;
  /** The resolver; the system's (getaddrinfo, as delivery connects) unless a test stands in for it. */
  resolve?: (hostname: string) => Promise<LookupAddress[]>;
}

const urlProblem = (code: string, message: string): FieldError => ({ field: 'url', code, message });

/**
 * The URL's shape, with the inputs' SSRF policy: https only, no credentials, no internal host
 * name (refused even when private addresses are allowed), and a numeric host must be public.
 * Null when it passes. A named host is judged after it resolves (`checkWebhookHost`).
 */
export function webhookUrlProblem(value: string, allowPrivate: boolean): FieldError | null {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return urlProblem('invalid_url', 'url must be an absolute https URL.');
  }
  if (url.protocol !== 'https:' && !(allowPrivate && url.protocol === 'http:')) {
    return urlProblem('https_required', 'url must use https.');
  }
  if (url.username !== '' || url.password !== '') return urlProblem('invalid_url', 'url must not carry credentials.');
  try {
    checkUrlShape(url.href);
  } catch (err) {
    if (!(err instanceof FetchError)) throw err;
    return urlProblem('url_forbidden', 'url names an internal host.');
  }
  const host = bareHostname(url);
  if (!allowPrivate && isIP(host) !== 0) {
    try {
      assertPublicAddress(host);
    } catch (err) {
      if (!(err instanceof FetchError)) throw err;
      return urlProblem('url_forbidden', 'url must not point at a private, loopback or other non-public address.');
    }
  }
  return null;
}

/**
 * The URL's host must resolve, and (unless private addresses are allowed) to public addresses
 * only: every address is checked, since a connection could use any of them. It is the hop check
 * every outbound request makes (shared/net/hop.ts), made once at registration; delivery makes it
 * again before each attempt and connects to the addresses it checked, so a host that changes
 * its answer later gains nothing.
 */
export async function checkWebhookHost(url: string, opts: UrlCheckOptions): Promise<void> {
  const parsed = new URL(url);
  const host = bareHostname(parsed);
  const policy: HopPolicy = opts.resolve
    ? { resolve: opts.resolve, checkAddress: opts.allowPrivate ? () => undefined : assertPublicAddress }
    : systemHopPolicy(opts.allowPrivate);
  try {
    await checkHop(parsed, policy, AbortSignal.timeout(RESOLVE_TIMEOUT_MS));
  } catch (err) {
    if (err instanceof FetchError && err.code === 'url_forbidden') {
      // The host, not the address: which internal address a name has is nobody's business.
      throw new ValidationError([urlProblem('url_forbidden', `url's host ${host} has a non-public address.`)]);
    }
    // The resolver failed, found no address, or did not answer in time (a DOMException: no instanceof Error).
    if (err instanceof FetchError || (err as { name?: unknown } | null)?.name === 'TimeoutError') {
      throw new ValidationError([urlProblem('url_unresolvable', `url's host ${host} does not resolve.`)]);
    }
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------
// Requests

function custom(ctx: z.RefinementCtx, code: string, message: string): void {
  ctx.addIssue({ code: 'custom', message, params: { code } });
}

export const createWebhookSchema = (allowPrivate: boolean) =>
  z
    .object({
      url: z
        .string({ error: 'url must be a string.' })
        .trim()
        .min(1, 'url must not be empty.')
        .max(WEBHOOK_URL_MAX_LENGTH, `url must be at most ${WEBHOOK_URL_MAX_LENGTH} characters.`)
        .superRefine((value, ctx) => {
          // An empty or overlong URL has its own error already.
          if (value === '' || value.length > WEBHOOK_URL_MAX_LENGTH) return;
          const problem = webhookUrlProblem(value, allowPrivate);
          if (problem) custom(ctx, problem.code, problem.message);
        })
        // Stored as the URL parser writes it: host lowercased, IDN in punycode, default port dropped.
        .transform((value) => new URL(value).href),
      events: z
        .array(z.enum(WEBHOOK_EVENTS, { error: `events must be among ${WEBHOOK_EVENTS.join(', ')}.` }), {
          error: 'events must be an array of event names.',
        })
        .min(1, 'events must name at least one event.')
        .superRefine((events, ctx) => {
          if (new Set(events).size !== events.length)
            custom(ctx, 'duplicate_value', 'events must not repeat an event.');
        }),
      signing: z.enum(SIGNING_SCHEMES, { error: 'signing must be hmac or ed25519.' }).default('hmac'),
    })
    .strict();

export type CreateWebhookRequest = z.infer<ReturnType<typeof createWebhookSchema>>;

/** POST /webhooks's body, or a ValidationError with one entry per bad field. */
export function parseCreateWebhook(body: unknown, allowPrivate: boolean): CreateWebhookRequest {
  const parsed = createWebhookSchema(allowPrivate).safeParse(body);
  if (!parsed.success) throw new ValidationError(fieldErrors(parsed.error, body));
  return parsed.data;
}

export const listWebhooksSchema = lazySchema(() => z.object(pageParams()).strict());

export type ListWebhooksQuery = z.infer<ReturnType<typeof listWebhooksSchema>>;

/** GET /webhooks's query string, or a ValidationError. */
export function parseListWebhooks(query: unknown): ListWebhooksQuery {
  const input = { ...(query as Record<string, unknown>) };
  const parsed = listWebhooksSchema().safeParse(input);
  if (!parsed.success) throw new ValidationError(fieldErrors(parsed.error, input));
  return parsed.data;
}

// ---------------------------------------------------------------------------------------------
// Operations

export interface WebhookWithSecret {
  webhook: WebhookView;
  /** `whsec_...` (hmac) or the public key `whpk_...` (ed25519): shown in this answer only. */
  secret: string;
}

/** A new key sealed for the webhook; the raw key material is wiped once sealed. */
async function newSealedKey(kek: KeyEncryptionKey, webhookId: string, scheme: SigningScheme) {
  const { key, shown } = newSigningKey(scheme);
  try {
    return { sealed: await sealKey(kek, webhookId, key), shown };
  } finally {
    key.secret.fill(0);
  }
}

/**
 * Registers a webhook: the tier must have webhooks (403 `webhooks_not_in_tier`), the body must be
 * valid and its URL's host resolve to public addresses (422), and the tenant must be under its
 * tier's cap (409 `webhook_limit_reached`). Concurrent registrations of one tenant take turns on
 * a transaction lock, so the cap holds under a burst.
 */
export async function registerWebhook(
  k: Knex,
  kek: KeyEncryptionKey,
  principal: Principal,
  body: unknown,
  opts: UrlCheckOptions,
): Promise<WebhookWithSecret> {
  const limit = WEBHOOK_LIMITS[principal.tier];
  if (limit === 0) {
    throw new ForbiddenError(
      'webhooks_not_in_tier',
      `Webhooks are not part of the ${principal.tier} tier; pro has ${WEBHOOK_LIMITS.pro}, enterprise ${WEBHOOK_LIMITS.enterprise}.`,
    );
  }
  const request = parseCreateWebhook(body, opts.allowPrivate);
  await checkWebhookHost(request.url, opts);

  const id = randomUUID();
  const { sealed, shown } = await newSealedKey(kek, id, request.signing);
  const row = await k.transaction(async (trx) => {
    await trx.raw('SELECT pg_advisory_xact_lock(hashtextextended(?, 0))', [`webhooks:${principal.tenantId}`]);
    const counted = await trx('webhooks').where({ tenant_id: principal.tenantId }).count({ n: '*' }).first();
    if (Number(counted?.n ?? 0) >= limit) {
      throw new ConflictError(
        'webhook_limit_reached',
        `The ${principal.tier} tier allows ${limit} webhooks and you have ${limit}; delete one first.`,
      );
    }
    const [inserted] = await trx('webhooks')
      .insert({
        id,
        tenant_id: principal.tenantId,
        url: request.url,
        events: request.events,
        signing: request.signing,
        secret: sealed,
      })
      .returning([...WEBHOOK_VIEW_COLUMNS]);
    return inserted as WebhookViewRow;
  });
  return { webhook: webhookView(row), secret: shown };
}

export type WebhookPage = Page<WebhookView>;

/**
 * The tenant's webhooks, newest first (the order of idx_webhooks_tenant_created), a keyset page
 * at a time: webhooks created or deleted meanwhile shift nothing in a walk already under way.
 */
export async function listWebhooks(k: Knex, tenantId: string, query: ListWebhooksQuery): Promise<WebhookPage> {
  const rows = k('webhooks')
    .where({ tenant_id: tenantId })
    .select(...WEBHOOK_VIEW_COLUMNS);
  return keysetPage(k, rows, query, (row: WebhookViewRow) => webhookView(row));
}

/** The tenant's webhook, or NotFoundError (missing and another tenant's alike). */
export async function getWebhook(k: Knex, tenantId: string, id: string): Promise<WebhookView> {
  if (!UUID.test(id)) throw new NotFoundError('webhook');
  const row = await k('webhooks')
    .where({ id, tenant_id: tenantId })
    .first(...WEBHOOK_VIEW_COLUMNS);
  if (!row) throw new NotFoundError('webhook');
  return webhookView(row as WebhookViewRow);
}

/** Deletes the webhook, its deliveries and their attempts (the foreign keys cascade). */
export async function deleteWebhook(k: Knex, tenantId: string, id: string): Promise<void> {
  if (!UUID.test(id)) throw new NotFoundError('webhook');
  const n = await k('webhooks').where({ id, tenant_id: tenantId }).delete();
  if (n === 0) throw new NotFoundError('webhook');
}

/** Active again, whatever disabled it, with its failure count back at 0. Enabling an active webhook resets the count. */
export async function enableWebhook(k: Knex, tenantId: string, id: string): Promise<WebhookView> {
  if (!UUID.test(id)) throw new NotFoundError('webhook');
  const [row] = await k('webhooks')
    .where({ id, tenant_id: tenantId })
    .update({
      status: 'active',
      disabled_reason: null,
      disabled_at: null,
      consecutive_failures: 0,
      updated_at: k.fn.now(),
    })
    .returning([...WEBHOOK_VIEW_COLUMNS]);
  if (!row) throw new NotFoundError('webhook');
  return webhookView(row as WebhookViewRow);
}

/**
 * A new key of the webhook's scheme. The current key becomes the previous one and keeps signing
 * deliveries, beside the new one, for ROTATION_OVERLAP_SECONDS. A rotation within that window
 * replaces the previous key with the current one: the key from before the first rotation stops
 * signing at once, and only the last two keys are ever live.
 */
export async function rotateWebhookSecret(
  k: Knex,
  kek: KeyEncryptionKey,
  tenantId: string,
  id: string,
): Promise<WebhookWithSecret> {
  if (!UUID.test(id)) throw new NotFoundError('webhook');
  return k.transaction(async (trx) => {
    const current = (await trx('webhooks')
      .where({ id, tenant_id: tenantId })
      .forUpdate()
      .first('signing', 'secret')) as Pick<WebhookRow, 'signing' | 'secret'> | undefined;
    if (!current) throw new NotFoundError('webhook');
    const { sealed, shown } = await newSealedKey(kek, id, current.signing);
    const [row] = await trx('webhooks')
      .where({ id })
      .update({
        secret: sealed,
        // Sealed for this webhook's id already: it opens as the previous key as it opened as the current one.
        previous_secret: current.secret,
        previous_secret_expires_at: trx.raw('now() + make_interval(secs => ?)', [ROTATION_OVERLAP_SECONDS]),
        updated_at: trx.fn.now(),
      })
      .returning([...WEBHOOK_VIEW_COLUMNS]);
    return { webhook: webhookView(row as WebhookViewRow), secret: shown };
  });
}
