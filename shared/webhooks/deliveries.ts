/**
 * Delivering webhook events: one webhook_deliveries row per (webhook, event), worked on one attempt
 * at a time, each attempt recorded in webhook_attempts.
 *
 * One mechanism moves a delivery on: its row. `next_attempt_at` is when its next attempt is due;
 * a job-notifications message asks a deliverer to make that attempt. The deliverer always
 * acknowledges (it throws only when the database fails it, and Pub/Sub then redelivers), and
 * writes the wait before the next attempt into the row; the maintenance tick sends a message for
 * every delivery that has come due (dispatchDueDeliveries). Pub/Sub's own backoff is per
 * subscription, at most 600 s, blind to Retry-After and spends the message's delivery attempts,
 * so it is not used for the schedule. A wait of at most SLEEP_OFF_SECONDS (the schedule's 5 s) is
 * slept off by the deliverer itself; a longer one ends on the first tick after it.
 *
 * An attempt holds a lease on its delivery, taken in a short transaction and released in another,
 * with no connection held while the receiver answers. At most AIPROD_WEBHOOK_MAX_IN_FLIGHT
 * deliveries of one webhook hold one at once (the claim counts them under the webhook's row
 * lock): a slow or dead receiver ties up that many workers, never the fleet, and the others'
 * deliveries go on. A delivery that finds its webhook's slots taken waits, due, and the attempt
 * that frees a slot hands it on (under the same lock, so no freed slot goes unseen).
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Knex } from 'knex';
import { config } from '../config';
import type { KeyEncryptionKey } from '../crypto/envelope';
import { publishCommitted, WRITER_GRACE_SECONDS, type OutboxMessage } from '../events/outbox';
import type { Transport } from '../events/transport';
import { ConflictError, NotFoundError } from '../errors';
import { logger } from '../log';
import { FetchError, postPinned } from '../net';
import type { AttemptOutcomeView } from '../openapi/schemas/webhooks';
import type { Topic } from '../platform/manifest';
import { liveKeys, type WebhookRow } from './keys';
import { nextWaitSeconds, retryAfterSeconds, retryWaitSeconds, verdictOf, type Answer } from './schedule';
import { webhookHeaders } from './signing';
import { testEventBody, testEventId, TEST_EVENT_TYPE } from './events';

export const JOB_NOTIFICATIONS: Topic = 'job-notifications';

/** A job-notifications message: attempt this delivery if it is due. */
export interface NotificationMessage {
  delivery_id: string;
}

export type DeliveryState = 'pending' | 'succeeded' | 'failed';

/** A webhook_deliveries row (004_webhooks, 006_webhook_delivery_lease). */
export interface DeliveryRow {
  id: string;
  webhook_id: string;
  tenant_id: string;
  event_id: string;
  event_type: string;
  body: string;
  state: DeliveryState;
  attempts: number;
  next_attempt_at: Date | null;
  lease_owner: string | null;
  lease_expires_at: Date | null;
  dispatched_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

/** How long an attempt holds its delivery: past webhook-deliverer's 60 s timeout, so a crashed attempt frees it. */
export const LEASE_SECONDS = 90;
/** A message sent for a delivery that no deliverer took within this long is sent again by the tick. */
export const REDISPATCH_SECONDS = 300;

/** The outbox rows of job-notifications messages, for the deliveries a CTE named `marked` returns (id, tenant_id). */
const NOTIFY_MARKED = `INSERT INTO outbox (topic, payload, attributes, next_attempt_at)
  SELECT ?, jsonb_build_object('delivery_id', id), jsonb_build_object('tenant_id', tenant_id::text),
         now() + make_interval(secs => ?)
  FROM marked
  RETURNING id, payload, attributes`;

type OutboxReturn = { id: string; payload: NotificationMessage; attributes: Record<string, string> };
const toMessages = (rows: OutboxReturn[]): OutboxMessage[] =>
  rows.map((r) => ({ id: Number(r.id), topic: JOB_NOTIFICATIONS, payload: r.payload, attributes: r.attributes }));

// ---------------------------------------------------------------------------------------------
// Claiming
// ---------------------------------------------------------------------------------------------

/** Why a message led to no attempt; every one is acknowledged. */
export type Skip = 'missing' | 'finished' | 'webhook_disabled' | 'not_due' | 'in_flight' | 'busy';

export interface Claim {
  delivery: DeliveryRow;
  webhook: WebhookRow;
  owner: string;
}

/**
 * Takes the delivery's lease for one attempt. `scheduled` (a job-notifications message) attempts
 * only a pending, due delivery of an active webhook with a free slot; `manual` (a partner's retry)
 * any delivery not in flight.
 */
async function claim(k: Knex, deliveryId: string, mode: 'scheduled' | 'manual'): Promise<Claim | Skip> {
  return k.transaction(async (trx) => {
    // The webhook's row lock serializes its claims and releases: the count below stays true until commit.
    const webhook: WebhookRow | undefined = await trx<WebhookRow>('webhooks')
      .whereIn('id', trx('webhook_deliveries').select('webhook_id').where({ id: deliveryId }))
      .forNoKeyUpdate()
      .first();
    if (!webhook) return 'missing';
    const row: (DeliveryRow & { due: boolean; leased: boolean; in_flight: number }) | undefined = (
      await trx.raw(
        `SELECT d.*, coalesce(d.next_attempt_at <= now(), false) AS due, coalesce(d.lease_expires_at > now(), false) AS leased,
                (SELECT count(*)::int FROM webhook_deliveries x
                 WHERE x.webhook_id = d.webhook_id AND x.lease_expires_at > now()) AS in_flight
         FROM webhook_deliveries d WHERE d.id = ?`,
        [deliveryId],
      )
    ).rows[0];
    if (!row) return 'missing';
    if (row.leased) return 'in_flight';
    if (mode === 'scheduled') {
      if (row.state !== 'pending') return 'finished';
      if (!row.due) return 'not_due';
      const waiting = webhook.status !== 'active' ? 'webhook_disabled' : row.in_flight >= cap() ? 'busy' : null;
      if (waiting) {
        // Taken off the road: the tick (once the webhook is active again) or a freed slot sends it again.
        await trx('webhook_deliveries').where({ id: deliveryId }).update({ dispatched_at: null });
        return waiting;
      }
    }
    const owner = randomUUID();
    await trx('webhook_deliveries')
      .where({ id: deliveryId })
      .update({
        lease_owner: owner,
        lease_expires_at: trx.raw('now() + make_interval(secs => ?)', [LEASE_SECONDS]),
        dispatched_at: null,
      });
    return { delivery: row, webhook, owner };
  });
}

const cap = (): number => config().AIPROD_WEBHOOK_MAX_IN_FLIGHT;

/** Frees the lease after an attempt that could not even be made (the keys would not open). */
async function releaseLease(k: Knex, c: Claim): Promise<void> {
  await k('webhook_deliveries')
    .where({ id: c.delivery.id, lease_owner: c.owner })
    .update({ lease_owner: null, lease_expires_at: null });
}

// ---------------------------------------------------------------------------------------------
// One attempt
// ---------------------------------------------------------------------------------------------

export interface AttemptResult {
  attemptedAt: Date;
  statusCode: number | null;
  latencyMs: number;
  error: string | null;
  answer: Answer;
  /** The receiver's Retry-After, in seconds. */
  retryAfter: number | null;
}

function statusError(status: number): string | null {
  if (status >= 200 && status <= 299) return null;
  if (status >= 300 && status <= 399) return `HTTP ${status}: redirects are not followed`;
  return `HTTP ${status}`;
}

/** Signs and POSTs the delivery's body, signed now with every live key. Holds no database connection. */
async function attempt(c: Claim, kek: KeyEncryptionKey): Promise<AttemptResult> {
  const cfg = config();
  const keys = await liveKeys(kek, c.webhook);
  const attemptedAt = new Date();
  const headers = {
    'content-type': 'application/json',
    ...webhookHeaders(keys, c.delivery.event_id, Math.floor(attemptedAt.getTime() / 1000), c.delivery.body),
  };
  const started = performance.now();
  const latencyMs = (): number => Math.round(performance.now() - started);
  try {
    const res = await postPinned(c.webhook.url, c.delivery.body, {
      timeoutMs: cfg.AIPROD_WEBHOOK_TIMEOUT_SECONDS * 1000,
      allowPrivate: cfg.AIPROD_ALLOW_PRIVATE_URLS,
      headers,
    });
    return {
      attemptedAt,
      statusCode: res.status,
      latencyMs: latencyMs(),
      error: statusError(res.status),
      answer: { status: res.status },
      retryAfter: retryAfterSeconds(res.headers['retry-after']),
    };
  } catch (err) {
    if (!(err instanceof FetchError)) throw err;
    const failure =
      err.code === 'url_forbidden' ? 'forbidden' : err.code === 'input_timeout' ? 'timeout' : 'unreachable';
    return {
      attemptedAt,
      statusCode: null,
      latencyMs: latencyMs(),
      error: (failure === 'timeout' ? `no answer within ${cfg.AIPROD_WEBHOOK_TIMEOUT_SECONDS} s` : err.message).slice(
        0,
        500,
      ),
      answer: { status: null, failure },
      retryAfter: null,
    };
  }
}

// ---------------------------------------------------------------------------------------------
// Recording the outcome
// ---------------------------------------------------------------------------------------------

/** `scheduled` and `manual` attempts count for the webhook's health; a `test` one is a diagnostic and never does. */
export type AttemptMode = 'scheduled' | 'manual' | 'test';

/** One attempt's outcome, as the test and retry endpoints answer it (shared/openapi/schemas/webhooks.ts). */
export type AttemptOutcome = AttemptOutcomeView;

type Disable = 'gone' | 'failing';

/**
 * Writes the attempt and what it decides, releases the lease, and hands the freed slot on, in one
 * transaction. A pending delivery moves on: succeeded; failed for good (counted against the
 * webhook); or due again after the schedule's next wait. A finished delivery tried once more by
 * hand only becomes `succeeded` on a 2xx. A 2xx resets the webhook's failure count; a 410
 * disables it at once; AIPROD_WEBHOOK_DISABLE_AFTER deliveries in a row ending failed disable it.
 */
async function record(
  k: Knex,
  transport: Transport,
  c: Claim,
  result: AttemptResult,
  mode: AttemptMode,
): Promise<AttemptOutcome> {
  const cfg = config();
  const verdict = verdictOf(result.answer);
  const d = c.delivery;
  const attempts = d.attempts + 1;
  let state: DeliveryState = d.state;
  let wait: number | null = null;
  let endedFailed = false;
  if (mode === 'test') {
    state = verdict === 'succeeded' ? 'succeeded' : 'failed';
  } else if (d.state === 'pending') {
    if (verdict === 'succeeded') state = 'succeeded';
    else if (verdict === 'retry') {
      const next = nextWaitSeconds(cfg.AIPROD_WEBHOOK_RETRY_SECONDS, attempts);
      if (next === null) state = 'failed';
      else wait = retryWaitSeconds(next, result.retryAfter, cfg.AIPROD_WEBHOOK_RETRY_AFTER_MAX_SECONDS);
    } else state = 'failed';
    endedFailed = state === 'failed';
  } else if (verdict === 'succeeded') {
    state = 'succeeded';
  }

  const done = await k.transaction(async (trx) => {
    // The webhook's row first: a claim of its deliveries waits for this commit, so it sees the freed slot.
    const webhook: Pick<WebhookRow, 'status' | 'consecutive_failures'> | undefined = await trx('webhooks')
      .where({ id: c.webhook.id })
      .forNoKeyUpdate()
      .first('status', 'consecutive_failures');
    const nothing = { disabled: null, nextAttemptAt: null, handOff: [] as OutboxMessage[] };
    // Deleted while the receiver answered (its deliveries went with it): nothing left to record.
    if (!webhook) return nothing;
    await trx('webhook_attempts').insert({
      delivery_id: d.id,
      attempted_at: result.attemptedAt,
      status_code: result.statusCode,
      latency_ms: result.latencyMs,
      error: result.error,
    });
    const [updated]: { next_attempt_at: Date | null }[] = await trx('webhook_deliveries')
      .where({ id: d.id, lease_owner: c.owner })
      .update({
        state,
        attempts,
        next_attempt_at: wait === null ? null : trx.raw('now() + make_interval(secs => ?)', [wait]),
        lease_owner: null,
        lease_expires_at: null,
        updated_at: trx.fn.now(),
      })
      .returning(['next_attempt_at']);
    if (!updated) {
      // The lease ran out and another attempt took the delivery over: that one decides.
      logger().warn('webhook delivery lease lost', { deliveryId: d.id, webhookId: c.webhook.id });
      return nothing;
    }

    let disabled: Disable | null = null;
    if (mode !== 'test') {
      if (verdict === 'succeeded' && webhook.consecutive_failures !== 0) {
        await trx('webhooks').where({ id: c.webhook.id }).update({ consecutive_failures: 0, updated_at: trx.fn.now() });
      } else if (verdict === 'gone' && webhook.status === 'active') {
        disabled = 'gone';
      } else if (endedFailed && verdict !== 'gone') {
        const failures = webhook.consecutive_failures + 1;
        if (webhook.status === 'active' && failures >= cfg.AIPROD_WEBHOOK_DISABLE_AFTER) disabled = 'failing';
        await trx('webhooks')
          .where({ id: c.webhook.id })
          .update({ consecutive_failures: failures, updated_at: trx.fn.now() });
      }
      if (disabled) {
        await trx('webhooks').where({ id: c.webhook.id }).update({
          status: 'disabled',
          disabled_reason: disabled,
          disabled_at: trx.fn.now(),
          updated_at: trx.fn.now(),
        });
      }
    }
    const active = webhook.status === 'active' && !disabled;
    const handOff = active ? await queueWaiting(trx, c.webhook.id, 1) : [];
    return { disabled, nextAttemptAt: updated.next_attempt_at, handOff };
  });

  if (done.disabled) {
    logger().warn('webhook disabled', {
      event: 'webhook.disabled',
      webhookId: c.webhook.id,
      tenantId: c.webhook.tenant_id,
      reason: done.disabled,
    });
  }
  if (done.handOff.length) await publishCommitted(k, transport, done.handOff);
  return {
    delivery_id: d.id,
    event_id: d.event_id,
    status_code: result.statusCode,
    latency_ms: result.latencyMs,
    error: result.error,
    succeeded: verdict === 'succeeded',
    state,
    next_attempt_at: done.nextAttemptAt ? new Date(done.nextAttemptAt).toISOString() : null,
  };
}

/**
 * Sends a message for up to `limit` of the webhook's due deliveries that wait for a slot (none on
 * its way), in the caller's transaction; publish the result after commit.
 */
async function queueWaiting(trx: Knex.Transaction, webhookId: string, limit: number): Promise<OutboxMessage[]> {
  const rows: OutboxReturn[] = (
    await trx.raw(
      `WITH picked AS (
         SELECT id FROM webhook_deliveries
         WHERE webhook_id = ? AND state = 'pending' AND next_attempt_at <= now() AND dispatched_at IS NULL
           AND (lease_expires_at IS NULL OR lease_expires_at <= now())
         ORDER BY next_attempt_at, id LIMIT ? FOR UPDATE SKIP LOCKED),
       marked AS (
         UPDATE webhook_deliveries d SET dispatched_at = now() FROM picked WHERE d.id = picked.id
         RETURNING d.id, d.tenant_id)
       ${NOTIFY_MARKED}`,
      [webhookId, limit, JOB_NOTIFICATIONS, WRITER_GRACE_SECONDS],
    )
  ).rows;
  return toMessages(rows);
}

async function attemptAndRecord(
  k: Knex,
  transport: Transport,
  kek: KeyEncryptionKey,
  c: Claim,
  mode: AttemptMode,
): Promise<AttemptOutcome> {
  let result: AttemptResult;
  try {
    result = await attempt(c, kek);
  } catch (err) {
    await releaseLease(k, c).catch(() => undefined);
    throw err;
  }
  return record(k, transport, c, result, mode);
}

// ---------------------------------------------------------------------------------------------
// Entry points
// ---------------------------------------------------------------------------------------------

/**
 * A wait this short (the schedule's 5 s, a brief Retry-After) is slept off by the deliverer
 * itself, holding no connection, instead of waiting for the minute tick: one attempt of at most
 * 15 s, the sleep and a second attempt still end well inside webhook-deliverer's 60 s timeout.
 */
export const SLEEP_OFF_SECONDS = 20;
const SLEEP_MARGIN_MS = 50;

/**
 * webhook-deliverer: one job-notifications message, one attempt if the delivery is due, and one
 * more after a short wait (SLEEP_OFF_SECONDS); longer waits are the maintenance tick's.
 */
export async function deliverDue(
  k: Knex,
  transport: Transport,
  kek: KeyEncryptionKey,
  deliveryId: string,
): Promise<AttemptOutcome | Skip> {
  const c = await claim(k, deliveryId, 'scheduled');
  if (typeof c === 'string') return c;
  const first = await attemptAndRecord(k, transport, kek, c, 'scheduled');
  const waitMs =
    first.state === 'pending' && first.next_attempt_at ? Date.parse(first.next_attempt_at) - Date.now() : NaN;
  if (!(waitMs <= SLEEP_OFF_SECONDS * 1000)) return first;
  // A little past the due time: the stored time has microseconds the parsed one lacks.
  await sleep(Math.max(0, waitMs) + SLEEP_MARGIN_MS);
  const again = await claim(k, deliveryId, 'scheduled');
  // Taken meanwhile (a retry by hand, the tick): that attempt decides; this one's outcome stands.
  return typeof again === 'string' ? first : attemptAndRecord(k, transport, kek, again, 'scheduled');
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The tenant's webhook; another tenant's is as missing as one that does not exist. */
export async function findTenantWebhook(k: Knex, tenantId: string, webhookId: string): Promise<WebhookRow> {
  const row = UUID.test(webhookId)
    ? await k<WebhookRow>('webhooks').where({ id: webhookId, tenant_id: tenantId }).first()
    : undefined;
  if (!row) throw new NotFoundError('webhook');
  return row;
}

/**
 * POST /webhooks/{id}/test: a `webhook.test` event, sent now, once, recorded as a delivery of its
 * own. Sent whatever the webhook's status (a partner checks a receiver before enabling it again)
 * and never changing it.
 */
export async function sendTestEvent(
  k: Knex,
  transport: Transport,
  kek: KeyEncryptionKey,
  tenantId: string,
  webhookId: string,
): Promise<AttemptOutcome> {
  const webhook = await findTenantWebhook(k, tenantId, webhookId);
  const owner = randomUUID();
  const [delivery]: DeliveryRow[] = await k('webhook_deliveries')
    .insert({
      id: randomUUID(),
      webhook_id: webhook.id,
      tenant_id: webhook.tenant_id,
      event_id: testEventId(),
      event_type: TEST_EVENT_TYPE,
      body: testEventBody(webhook.id),
      // Never due: leased from the start and attempted here only.
      next_attempt_at: null,
      lease_owner: owner,
      lease_expires_at: k.raw('now() + make_interval(secs => ?)', [LEASE_SECONDS]),
    })
    .returning('*');
  return attemptAndRecord(k, transport, kek, { delivery: delivery!, webhook, owner }, 'test');
}

/**
 * POST /webhooks/{id}/deliveries/{delivery_id}/retry: one more attempt now, with the same
 * webhook-id. A pending delivery takes it as its next attempt of the schedule; a finished one as
 * an extra attempt, which can only turn it `succeeded`.
 */
export async function retryDelivery(
  k: Knex,
  transport: Transport,
  kek: KeyEncryptionKey,
  tenantId: string,
  webhookId: string,
  deliveryId: string,
): Promise<AttemptOutcome> {
  const webhook = await findTenantWebhook(k, tenantId, webhookId);
  const owned = UUID.test(deliveryId)
    ? await k('webhook_deliveries').where({ id: deliveryId, webhook_id: webhook.id }).first('id')
    : undefined;
  if (!owned) throw new NotFoundError('delivery');
  const c = await claim(k, deliveryId, 'manual');
  if (c === 'in_flight') {
    throw new ConflictError(
      'delivery_in_flight',
      'An attempt of this delivery is in progress; ask again once it ends.',
    );
  }
  if (typeof c === 'string') throw new NotFoundError('delivery');
  return attemptAndRecord(k, transport, kek, c, 'manual');
}

/**
 * The maintenance tick's share: a message for every pending delivery of an active webhook that
 * has come due and has none on its way (or whose message nobody took in REDISPATCH_SECONDS), no
 * more per webhook than it has free slots. One statement marks them and writes their outbox rows;
 * they are published after it.
 */
export async function dispatchDueDeliveries(k: Knex, transport: Transport, limit = 500): Promise<number> {
  const rows: OutboxReturn[] = (
    await k.raw(
      `WITH busy AS (
         SELECT webhook_id, count(*)::int AS n FROM webhook_deliveries
         WHERE lease_expires_at > now() GROUP BY webhook_id),
       due AS (
         SELECT d.id, d.webhook_id,
                row_number() OVER (PARTITION BY d.webhook_id ORDER BY d.next_attempt_at, d.id) AS rn
         FROM webhook_deliveries d JOIN webhooks w ON w.id = d.webhook_id AND w.status = 'active'
         WHERE d.state = 'pending' AND d.next_attempt_at <= now()
           AND (d.lease_expires_at IS NULL OR d.lease_expires_at <= now())
           AND (d.dispatched_at IS NULL OR d.dispatched_at < now() - make_interval(secs => ?))),
       picked AS (
         SELECT due.id FROM due LEFT JOIN busy USING (webhook_id)
         WHERE due.rn <= ? - coalesce(busy.n, 0)
         LIMIT ?),
       marked AS (
         UPDATE webhook_deliveries d SET dispatched_at = now() FROM picked
         WHERE d.id = picked.id AND (d.dispatched_at IS NULL OR d.dispatched_at < now() - make_interval(secs => ?))
         RETURNING d.id, d.tenant_id)
       ${NOTIFY_MARKED}`,
      [REDISPATCH_SECONDS, cap(), limit, REDISPATCH_SECONDS, JOB_NOTIFICATIONS, WRITER_GRACE_SECONDS],
    )
  ).rows;
  if (rows.length === 0) return 0;
  return publishCommitted(k, transport, toMessages(rows));
}
