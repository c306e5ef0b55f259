import type { Knex } from 'knex';
import { eventFunctions } from '../platform/manifest';
import type { Transport } from './transport';

/** Subscription name of an event function, the same on Pub/Sub (Terraform) and on the local bus. */
export const subscriptionOf = (functionName: string): string => `${functionName}-push`;

/**
 * Publishing on the local bus writes one row per subscription of the topic, as Pub/Sub fans a
 * message out to every subscription; the bus dispatcher then pushes each over HTTP.
 */
export function localBusTransport(k: () => Knex): Transport {
  return {
    async publish(topic, data, attributes) {
      const subscriptions = eventFunctions()
        .filter((f) => f.topic === topic)
        .map((f) => subscriptionOf(f.name));
      const encoded = Buffer.from(JSON.stringify(data)).toString('base64');
      if (subscriptions.length === 0) return 'local-unrouted';
      const rows = await k()('bus_messages')
        .insert(subscriptions.map((subscription) => ({ subscription, topic, data: encoded, attributes })))
        .returning(['id']);
      return `local-${rows[0].id}`;
    },
  };
}
