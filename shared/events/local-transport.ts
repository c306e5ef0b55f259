import type { Knex } from 'knex';
import { eventFunctions } from '../platform/manifest';
import type { BrokerMessage, Transport } from './transport';

/** Subscription name of an event function, the same on Pub/Sub (Terraform) and on the local bus. */
export const subscriptionOf = (functionName: string): string => `${functionName}-push`;

/** One bus row per subscription of the topic, as Pub/Sub fans a message out to every subscription. */
function busRows(topic: string, messages: BrokerMessage[]) {
  const subscriptions = eventFunctions()
    .filter((f) => f.topic === topic)
    .map((f) => subscriptionOf(f.name));
  return messages.flatMap(({ data, attributes }) => {
    const encoded = Buffer.from(JSON.stringify(data)).toString('base64');
    return subscriptions.map((subscription) => ({ subscription, topic, data: encoded, attributes }));
  });
}

/** The bus rows as one JSON parameter, as the outbox writes its own (events/outbox.ts). */
const BUS_ROWS = `
  INSERT INTO bus_messages (subscription, topic, data, attributes)
  SELECT r.subscription, r.topic, r.data, r.attributes
  FROM jsonb_to_recordset(CAST(? AS jsonb)) AS r(subscription text, topic text, data text, attributes jsonb)
  RETURNING id`;

/**
 * Publishing on the local bus writes its rows; the bus dispatcher then pushes each over HTTP.
 * Being in the database, it can also take a message inside the writer's own statement.
 */
export function localBusTransport(k: () => Knex): Transport {
  return {
    async publish(topic, data, attributes) {
      const rows = busRows(topic, [{ data, attributes }]);
      if (rows.length === 0) return 'local-unrouted';
      const inserted = await k()('bus_messages').insert(rows).returning(['id']);
      return `local-${inserted[0].id}`;
    },
    publishStatement(writer, topic, messages) {
      const rows = busRows(topic, messages);
      return rows.length === 0 ? null : writer.raw(BUS_ROWS, [JSON.stringify(rows)]);
    },
    async ping(timeoutMs) {
      // The bus is its table: reachable when a read of it answers.
      await k().raw('SELECT 1 FROM bus_messages LIMIT 1').timeout(timeoutMs);
    },
  };
}
