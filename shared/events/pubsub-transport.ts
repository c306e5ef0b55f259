import type { PubSub } from '@google-cloud/pubsub';
import type { Transport } from './transport';

/** The client, loaded on first use: gRPC and the generated Pub/Sub stubs are most of a cold start. */
function defaultClient(): PubSub {
  const { PubSub } = require('@google-cloud/pubsub') as typeof import('@google-cloud/pubsub');
  return new PubSub();
}

export function pubSubTransport(client = defaultClient()): Transport {
  return {
    async publish(topic, data, attributes) {
      return client.topic(topic).publishMessage({ data: Buffer.from(JSON.stringify(data)), attributes });
    },
  };
}
