/**
 * Transactional outbox: a message is written in the same transaction (or the same statement) as
 * the state change it announces, then published after commit. A row that fails to publish stays
 * unpublished and the sweeper publishes it later, so a crash between commit and publish loses
 * nothing.
 *
 * No publisher holds a connection or a row lock while it waits for the broker: a row's writer owns
 * it for a grace period (its `next_attempt_at` lies that far ahead), and the sweeper claims due rows
 * by moving that time forward in one statement, then publishes with no connection held. Two
 * publishers may still both send a row (a writer slower than the grace period); delivery is
 * at-least-once anyway and every consumer is idempotent.
 */
import type { Knex } from 'knex';
import { pooledWrites } from '../db/pooled-writes';
import { logger } from '../log';
import type { Transport } from './transport';

/** How long a row's writer has to publish it before the sweeper may. */
export const WRITER_GRACE_SECONDS = 30;
/** How long the sweeper owns the rows it claimed, and waits before retrying a failed one. */
const CLAIM_SECONDS = 60;

export interface OutboxMessage {
  id: number;
  topic: string;
  payload: unknown;
  attributes: Record<string, string>;
}

type Writer = Knex | Knex.Transaction;

/** A change written with the messages: a query builder, or a statement of its own. */
export type Change = Knex.QueryBuilder | Knex.Raw;

interface NewMessage {
  payload: unknown;
  attributes: Record<string, string>;
}

/**
 * Messages of one topic as rows, however many, in one statement with the messages as one JSON
 * parameter: no per-row work for the query builder or the driver, and one plan for the server.
 * Rows are inserted in the messages' order. A message the transport took in the same statement
 * is recorded as published, with its one attempt.
 */
const MESSAGE_ROWS = `
  INSERT INTO outbox (topic, payload, attributes, next_attempt_at, published_at, attempts)
  SELECT ?, m.e->'payload', m.e->'attributes', now() + make_interval(secs => ?),
    CASE WHEN ? THEN now() END, CASE WHEN ? THEN 1 ELSE 0 END
  FROM jsonb_array_elements(CAST(? AS jsonb)) WITH ORDINALITY AS m(e, n)
  ORDER BY m.n
  RETURNING id`;

function messageRows(k: Writer, topic: string, messages: NewMessage[], delivered: boolean): Knex.Raw {
  const json = JSON.stringify(messages.map((m) => ({ payload: m.payload ?? null, attributes: m.attributes })));
  return k.raw(MESSAGE_ROWS, [topic, WRITER_GRACE_SECONDS, delivered, delivered, json]);
}

/** The ids of the `message` rows in the order they were inserted: the messages' order (ids only grow). */
const insertedIds = (q: Knex.QueryBuilder | Knex.QueryInterface): Promise<{ id: string }[]> =>
  q.select('id').from('message').orderBy('id');

const message = (id: unknown, topic: string, m: NewMessage): OutboxMessage => ({
  id: Number(id),
  topic,
  payload: m.payload,
  attributes: m.attributes,
});

const toBroker = (messages: NewMessage[]) => messages.map((m) => ({ data: m.payload, attributes: m.attributes }));

/** Writes one message in the caller's transaction; publish it with `publishCommitted` after commit. */
export async function enqueue(
  trx: Writer,
  topic: string,
  payload: unknown,
  attributes: Record<string, string> = {},
): Promise<OutboxMessage> {
  const sent = { payload, attributes };
  const { rows } = (await messageRows(trx, topic, [sent], false)) as { rows: { id: string }[] };
  return message(rows[0]!.id, topic, sent);
}

/**
 * Writes the state change and its messages, of one topic, in ONE statement (the change as
 * data-modifying CTEs), atomic without a transaction and one round trip: the request path's
 * cheapest durable write. When the transport can take the messages in that same statement (the
 * local bus), it does, and the rows are recorded as published: the result is empty, nothing is
 * left to publish. Otherwise the result is the messages to hand to `publishCommitted`.
 */
export async function enqueueWith(
  k: Knex,
  transport: Transport,
  changes: Record<string, Change>,
  topic: string,
  messages: NewMessage[],
): Promise<OutboxMessage[]> {
  const delivery = transport.publishStatement?.(k, topic, toBroker(messages)) ?? null;
  let q: Knex.QueryBuilder | Knex.QueryInterface = k.queryBuilder();
  for (const [name, change] of Object.entries({ ...changes, ...(delivery ? { delivery } : {}) })) {
    q = q.with(name, change);
  }
  const inserted = await insertedIds(q.with('message', messageRows(k, topic, messages, delivery !== null)));
  if (delivery) return [];
  return inserted.map((r, i) => message(r.id, topic, messages[i]!));
}

/**
 * Writes many messages of one topic in the caller's transaction, in one statement (two on the
 * local bus, which takes them in the same transaction: nothing is then left to publish and the
 * result is empty). Publish the result with `publishCommitted` after commit.
 */
export async function enqueueMany(
  trx: Knex.Transaction,
  transport: Transport,
  topic: string,
  messages: NewMessage[],
): Promise<OutboxMessage[]> {
  if (messages.length === 0) return [];
  const delivery = transport.publishStatement?.(trx, topic, toBroker(messages)) ?? null;
  if (delivery) await delivery;
  const inserted = await insertedIds(trx.with('message', messageRows(trx, topic, messages, delivery !== null)));
  if (delivery) return [];
  return inserted.map((r, i) => message(r.id, topic, messages[i]!));
}

/** Messages handed to the broker at once: Pub/Sub batches concurrent publishes into few requests. */
const PUBLISH_CONCURRENCY = 64;

async function publishEach(transport: Transport, messages: OutboxMessage[]) {
  const sent: number[] = [];
  const failed: { id: number; error: string }[] = [];
  const publishOne = async (m: OutboxMessage): Promise<void> => {
    try {
      await transport.publish(m.topic, m.payload, { ...m.attributes, outbox_id: String(m.id) });
      sent.push(m.id);
    } catch (err) {
      const error = (err instanceof Error ? err.message : String(err)).slice(0, 500);
      logger().warn('outbox publish failed', { outboxId: m.id, topic: m.topic, error });
      failed.push({ id: m.id, error });
    }
  };
  for (let i = 0; i < messages.length; i += PUBLISH_CONCURRENCY) {
    await Promise.all(messages.slice(i, i + PUBLISH_CONCURRENCY).map(publishOne));
  }
  return { sent, failed };
}

const markPublished = (k: Knex, ids: number[]): Promise<unknown> =>
  k.raw(
    `UPDATE outbox SET published_at = now(), last_error = NULL, attempts = attempts + 1
     WHERE id = ANY(CAST(? AS bigint[]))`,
    [ids],
  );

/** As many calls as one coalesced submit statement carries jobs (jobs/submit.ts): one mark follows one write. */
const MARKS_PER_STATEMENT = 100;

const markers = new WeakMap<Knex, (ids: number[]) => Promise<void>>();

/**
 * The pool's marker of rows published after commit: the request path publishes each submit's
 * message on its own, and concurrent calls' marks share one UPDATE (db/pooled-writes.ts), so a burst
 * of N submits costs a few statements, not N more pool turns; a call's own ids always go in one.
 * A mark that waits longer than a connection would fails as a pool wait would (DatabaseBusyError,
 * to the caller): the row stays due, and the sweeper sends it again.
 */
function publishedMarker(k: Knex): (ids: number[]) => Promise<void> {
  let marker = markers.get(k);
  if (!marker) {
    marker = pooledWrites(
      async (calls: number[][]) => {
        await markPublished(k, calls.flat());
        return calls.map(() => undefined);
      },
      // An UPDATE by id has no row of its own to refuse: a failure is every mark's.
      { maxItems: MARKS_PER_STATEMENT, itemError: () => false },
    );
    markers.set(k, marker);
  }
  return marker;
}

async function recordFailures(k: Knex, failed: { id: number; error: string }[], retrySeconds: number) {
  for (const f of failed) {
    await k('outbox')
      .where({ id: f.id })
      .update({
        last_error: f.error,
        attempts: k.raw('attempts + 1'),
        next_attempt_at: k.raw('now() + make_interval(secs => ?)', [retrySeconds]),
      });
  }
}

/**
 * Publishes messages whose transaction has committed, holding no connection while the broker
 * answers; the number sent. Never throws: a row the broker refused, or whose outcome could not be
 * recorded (the database busy or gone), stays due, and the sweeper sends it again. Its caller's
 * own work is committed already, and must not fail or be repeated for it.
 */
export async function publishCommitted(k: Knex, transport: Transport, messages: OutboxMessage[]): Promise<number> {
  const { sent, failed } = await publishEach(transport, messages);
  try {
    if (sent.length) await publishedMarker(k)(sent);
    await recordFailures(k, failed, WRITER_GRACE_SECONDS);
  } catch (err) {
    logger().warn('outbox: the outcome of a publish was not recorded; the sweeper will send its rows again', {
      error: err,
      outboxIds: messages.map((m) => m.id),
    });
  }
  return sent.length;
}

/** The sweeper's share: claims up to `limit` due rows in one statement, publishes them, records the outcome. */
export async function republishDue(k: Knex, transport: Transport, limit = 500): Promise<number> {
  const rows: { id: string; topic: string; payload: unknown; attributes: Record<string, string> }[] = (
    await k.raw(
      `UPDATE outbox SET next_attempt_at = now() + make_interval(secs => ?)
       WHERE id IN (SELECT id FROM outbox WHERE published_at IS NULL AND next_attempt_at <= now()
                    ORDER BY next_attempt_at LIMIT ? FOR UPDATE SKIP LOCKED)
       RETURNING id, topic, payload, attributes`,
      [CLAIM_SECONDS, limit],
    )
  ).rows;
  if (rows.length === 0) return 0;
  const { sent, failed } = await publishEach(
    transport,
    rows.map((r) => message(r.id, r.topic, r)),
  );
  if (sent.length) await markPublished(k, sent);
  await recordFailures(k, failed, CLAIM_SECONDS);
  return sent.length;
}
