import type { Knex } from 'knex';

/** Where published messages go: Pub/Sub on Google Cloud, the local push bus in the embedded default. */
export interface Transport {
  /** Publishes one message; resolves with its message id once the broker has it. */
  publish(topic: string, data: unknown, attributes: Record<string, string>): Promise<string>;
  /**
   * A broker that lives in the database itself (the local bus) can take messages in the writer's
   * own statement (as one more data-modifying CTE) or transaction: they are then delivered with
   * the change or not at all, and nothing is left to publish after commit. Null when the topic has
   * no subscriber. Brokers outside the database (Pub/Sub) have no such statement.
   */
  publishStatement?(k: Knex | Knex.Transaction, topic: string, messages: BrokerMessage[]): Knex.Raw | null;
  /**
   * Resolves once the broker has answered a call that moves no message, within `timeoutMs`;
   * rejects when it cannot be reached. The readiness probe's check of the bus.
   */
  ping(timeoutMs: number): Promise<void>;
}

export interface BrokerMessage {
  data: unknown;
  attributes: Record<string, string>;
}
