import { PubSub } from '@google-cloud/pubsub';
import type { Transport } from './transport';

export function pubSubTransport(client = new PubSub()): Transport {
  return {
    async publish(topic, data, attributes) {
      return client.topic(topic).publishMessage({ data: Buffer.from(JSON.stringify(data)), attributes });
    },
  };
}
