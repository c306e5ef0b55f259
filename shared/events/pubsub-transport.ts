import type { PubSub } from '@google-cloud/pubsub';
import type { Topic } from '../platform/manifest';
import { BreakerOpenError, circuitBreaker, grpcStatusName, isTransientError } from '../resilience';
import type { Transport } from './transport';

/** The client, loaded on first use: gRPC and the generated Pub/Sub stubs are most of a cold start. */
function defaultClient(): PubSub {
  const { PubSub } = require('@google-cloud/pubsub') as typeof import('@google-cloud/pubsub');
  return new PubSub();
}

/**
 * A publish that did not reach Pub/Sub. Its outbox row stays unpublished and the sweeper
 * publishes it again, so nothing is lost, whatever the reason: `breaker_open` (not sent, Pub/Sub
 * having failed too often of late), `transient` (overload, outage, timeout: it counted against
 * the breaker), `refused` (Pub/Sub answered no, e.g. NOT_FOUND or PERMISSION_DENIED: a deployment
 * to fix, which the breaker does not count).
 */
export class PublishError extends Error {
  override readonly name = 'PublishError';

  constructor(
    readonly topic: string,
    readonly reason: 'breaker_open' | 'transient' | 'refused',
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/**
 * Publishing through the process's `pubsub:publish` circuit breaker, one for every topic (an
 * outage of the service hits them all): while it is open a publish fails at once instead of
 * waiting out the client's own retries, and the submit path answers without that wait.
 *
 * The ping asks Pub/Sub itself, past the breaker, which permissions the caller has on
 * `probeTopic` (where every job starts): a metadata call that needs no role, so the health
 * function is granted nothing on Pub/Sub to make it.
 */
export function pubSubTransport(client = defaultClient(), probeTopic: Topic = 'pipeline-jobs'): Transport {
  const breaker = circuitBreaker({ name: 'pubsub:publish', isFailure: isTransientError });
  return {
    async publish(topic, data, attributes) {
      try {
        return await breaker.run(() =>
          client.topic(topic).publishMessage({ data: Buffer.from(JSON.stringify(data)), attributes }),
        );
      } catch (err) {
        throw publishError(topic, err);
      }
    },
    async ping(timeoutMs) {
      await client.topic(probeTopic).iam.testPermissions(['pubsub.topics.publish'], { timeout: timeoutMs });
    },
  };
}

function publishError(topic: string, err: unknown): PublishError {
  if (err instanceof BreakerOpenError) {
    return new PublishError(topic, 'breaker_open', `not published to ${topic}: ${err.message}`, { cause: err });
  }
  const { code, details, message } = (err ?? {}) as { code?: unknown; details?: unknown; message?: unknown };
  const status = typeof code === 'number' ? grpcStatusName(code) : 'no status';
  const words = typeof details === 'string' && details ? details : String(message ?? err);
  return new PublishError(
    topic,
    isTransientError(err) ? 'transient' : 'refused',
    `Pub/Sub publish to ${topic} failed (${status}): ${words}`,
    { cause: err },
  );
}
