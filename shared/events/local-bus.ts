/**
 * The local push bus: delivers bus_messages rows to event functions over HTTP in the very envelope
 * a Pub/Sub push subscription sends, to `<function url>/projects/<project>/topics/<topic>`.
 * Same contract as Pub/Sub: a 2xx acks; anything else, or no answer within the ack deadline, is
 * retried with exponential backoff; after the last attempt the message is dead-lettered.
 */
import type { Knex } from 'knex';
import { logger } from '../log';

export interface LocalSubscription {
  name: string;
  topic: string;
  /** The event function's base URL. */
  endpoint: string;
  ackDeadlineSeconds: number;
  maxDeliveryAttempts: number;
  minBackoffSeconds: number;
  maxBackoffSeconds: number;
  /** Deliveries in flight at once, like a function's instance count. */
  concurrency: number;
}

interface BusRow {
  id: string;
  topic: string;
  data: string;
  attributes: Record<string, string>;
  attempts: number;
  published_at: Date;
}

export function backoffSeconds(sub: LocalSubscription, attempts: number): number {
  return Math.min(sub.maxBackoffSeconds, sub.minBackoffSeconds * 2 ** Math.max(0, attempts - 1));
}

export class LocalPushBus {
  private readonly inFlight = new Map<string, number>();
  private readonly pending = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  /** The poll in progress: rows it claims start deliveries that stop() must wait for too. */
  private polling: Promise<void> = Promise.resolve();

  constructor(
    private readonly k: Knex,
    private readonly subscriptions: LocalSubscription[],
    private readonly project: string,
    private readonly pollMs = 200,
  ) {}

  start(): void {
    this.running = true;
    const loop = async (): Promise<void> => {
      if (!this.running) return;
      this.polling = this.tick().catch((err: unknown) => {
        logger().error('local bus poll failed', { error: err });
      });
      await this.polling;
      if (this.running) this.timer = setTimeout(() => void loop(), this.pollMs);
    };
    void loop();
  }

  /** Stops polling and waits for deliveries in flight, those of a poll still claiming included. */
  async stop(): Promise<void> {
    this.running = false;
    clearTimeout(this.timer);
    await this.polling;
    await Promise.allSettled([...this.pending]);
  }

  /** Claims what is due on every subscription and starts delivering it. */
  async tick(): Promise<void> {
    for (const sub of this.subscriptions) {
      const free = sub.concurrency - (this.inFlight.get(sub.name) ?? 0);
      if (free <= 0) continue;
      // Claiming pushes the row's next attempt past the ack deadline, as Pub/Sub hides a
      // message it has handed out; a bus that dies mid-delivery is thus healed by the deadline.
      const rows: BusRow[] = (
        await this.k.raw(
          `UPDATE bus_messages SET attempts = attempts + 1, next_attempt_at = now() + make_interval(secs => ?)
           WHERE id IN (SELECT id FROM bus_messages
                        WHERE subscription = ? AND delivered_at IS NULL AND dead_lettered_at IS NULL
                          AND next_attempt_at <= now()
                        ORDER BY id LIMIT ? FOR UPDATE SKIP LOCKED)
           RETURNING id, topic, data, attributes, attempts, published_at`,
          [sub.ackDeadlineSeconds, sub.name, free],
        )
      ).rows;
      for (const row of rows) this.track(sub, this.deliver(sub, row));
    }
  }

  /** Resolves once nothing is due or in flight (tests use it to wait for quiescence). */
  async drain(timeoutMs = 60_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      await this.tick();
      await Promise.allSettled([...this.pending]);
      const [{ due }] = (
        await this.k.raw(
          `SELECT count(*)::int AS due FROM bus_messages WHERE delivered_at IS NULL AND dead_lettered_at IS NULL
             AND next_attempt_at <= now() AND subscription = ANY(?)`,
          [this.subscriptions.map((s) => s.name)],
        )
      ).rows;
      if (due === 0 && this.pending.size === 0) return;
      if (Date.now() > until) throw new Error('local bus did not drain in time');
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  private track(sub: LocalSubscription, p: Promise<void>): void {
    this.inFlight.set(sub.name, (this.inFlight.get(sub.name) ?? 0) + 1);
    // A row whose outcome could not be written is claimed again past its ack deadline, as
    // Pub/Sub redelivers an unacknowledged message: logged, never an unhandled rejection.
    const recorded = p.catch((err: unknown) => {
      logger().error('local bus delivery not recorded', { subscription: sub.name, error: err });
    });
    const done = recorded.finally(() => {
      this.inFlight.set(sub.name, (this.inFlight.get(sub.name) ?? 1) - 1);
      this.pending.delete(done);
    });
    this.pending.add(done);
  }

  private async deliver(sub: LocalSubscription, row: BusRow): Promise<void> {
    const envelope = {
      message: {
        data: row.data,
        attributes: row.attributes,
        messageId: `local-${row.id}`,
        publishTime: new Date(row.published_at).toISOString(),
      },
      subscription: `projects/${this.project}/subscriptions/${sub.name}`,
      deliveryAttempt: row.attempts,
    };
    let failure: string | undefined;
    try {
      const res = await fetch(`${sub.endpoint}/projects/${this.project}/topics/${row.topic}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(envelope),
        signal: AbortSignal.timeout(sub.ackDeadlineSeconds * 1000),
      });
      await res.arrayBuffer();
      if (res.status < 200 || res.status > 299) failure = `HTTP ${res.status}`;
    } catch (err) {
      failure = err instanceof Error ? err.message : String(err);
    }
    if (!failure) {
      await this.k('bus_messages').where({ id: row.id }).update({ delivered_at: this.k.fn.now(), last_error: null });
      return;
    }
    if (row.attempts >= sub.maxDeliveryAttempts) {
      logger().error('message dead-lettered', { subscription: sub.name, messageId: `local-${row.id}`, error: failure });
      await this.k('bus_messages')
        .where({ id: row.id })
        .update({ dead_lettered_at: this.k.fn.now(), last_error: failure });
      return;
    }
    await this.k('bus_messages')
      .where({ id: row.id })
      .update({
        last_error: failure,
        next_attempt_at: this.k.raw('now() + make_interval(secs => ?)', [backoffSeconds(sub, row.attempts)]),
      });
  }
}
