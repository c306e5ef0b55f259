/**
 * The local push bus speaks Pub/Sub push: the functions-framework turns its envelope into the
 * CloudEvent a deployed function receives; failures are retried with backoff, then dead-lettered.
 */
import { createServer, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cloudEvent, CloudEvent } from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { decodePubSub } from '../../shared/events/cloud-event';
import { backoffSeconds, LocalPushBus, LocalSubscription } from '../../shared/events/local-bus';
import { localBusTransport } from '../../shared/events/local-transport';
import { connect } from '../../shared/db';
import { logger } from '../../shared/log';
import { closeTestEnv, TestEnv, useTestEnv } from '../support/database';
import { until } from '../support/webhook-fixtures';

let env: TestEnv;
const servers: Server[] = [];

async function listen(server: Server): Promise<string> {
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function subscription(endpoint: string, extra: Partial<LocalSubscription> = {}): LocalSubscription {
  return {
    name: 'job-processor-push',
    topic: 'pipeline-jobs',
    endpoint,
    ackDeadlineSeconds: 10,
    maxDeliveryAttempts: 3,
    minBackoffSeconds: 0,
    maxBackoffSeconds: 0,
    concurrency: 2,
    ...extra,
  };
}

beforeAll(async () => {
  env = await useTestEnv();
});
afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  await closeTestEnv();
});
beforeEach(async () => {
  await env.db('bus_messages').del();
});

it('fans a published message out to the subscriptions of its topic', async () => {
  await localBusTransport(() => env.db).publish('pipeline-jobs', { job_id: 'x' }, { a: '1' });
  await localBusTransport(() => env.db).publish('monitoring-alerts', { x: 1 }, {});
  const rows = await env.db('bus_messages').select('subscription', 'topic').orderBy('subscription');
  // One row per subscription of the topic, and none on another topic's subscription.
  expect(rows).toEqual([
    { subscription: 'alert-notifier-push', topic: 'monitoring-alerts' },
    { subscription: 'job-processor-push', topic: 'pipeline-jobs' },
  ]);
});

it('delivers a CloudEvent carrying the message to a functions-framework function', async () => {
  const received: CloudEvent<unknown>[] = [];
  cloudEvent('bus-probe', (event: CloudEvent<unknown>) => {
    received.push(event);
  });
  const endpoint = await listen(getTestServer('bus-probe'));
  await localBusTransport(() => env.db).publish('pipeline-jobs', { job_id: 'abc' }, { tenant_id: 't1' });
  const bus = new LocalPushBus(env.db, [subscription(endpoint)], 'local');
  await bus.drain();
  expect(received).toHaveLength(1);
  const event = received[0]!;
  expect(event.type).toBe('google.cloud.pubsub.topic.v1.messagePublished');
  expect(event.source).toContain('projects/local/topics/pipeline-jobs');
  expect(decodePubSub(event)).toMatchObject({ data: { job_id: 'abc' }, attributes: { tenant_id: 't1' } });
  expect((await env.db('bus_messages').first()).delivered_at).not.toBeNull();
});

it('retries a failing delivery and stops once it succeeds', async () => {
  let calls = 0;
  const endpoint = await listen(
    createServer((_req, res) => {
      calls += 1;
      res.writeHead(calls < 3 ? 500 : 204).end();
    }),
  );
  await localBusTransport(() => env.db).publish('pipeline-jobs', { n: 1 }, {});
  await new LocalPushBus(env.db, [subscription(endpoint, { maxDeliveryAttempts: 5 })], 'local').drain();
  expect(calls).toBe(3);
  expect(await env.db('bus_messages').first()).toMatchObject({ attempts: 3, dead_lettered_at: null });
});

it('dead-letters a message after its last attempt', async () => {
  let calls = 0;
  const endpoint = await listen(
    createServer((_req, res) => {
      calls += 1;
      res.writeHead(503).end();
    }),
  );
  await localBusTransport(() => env.db).publish('pipeline-jobs', { n: 2 }, {});
  await new LocalPushBus(env.db, [subscription(endpoint)], 'local').drain();
  expect(calls).toBe(3);
  const row = await env.db('bus_messages').first();
  expect(row.dead_lettered_at).not.toBeNull();
  expect(row.last_error).toBe('HTTP 503');
});

/** An endpoint that answers 204 after `ms`, counting the deliveries it has been sent. */
async function slowEndpoint(ms: number): Promise<{ url: string; calls: () => number }> {
  let calls = 0;
  const url = await listen(
    createServer((_req, res) => {
      calls += 1;
      setTimeout(() => res.writeHead(204).end(), ms);
    }),
  );
  return { url, calls: () => calls };
}

it('stops only once the deliveries of the poll it interrupted are over', async () => {
  const endpoint = await slowEndpoint(300);
  await localBusTransport(() => env.db).publish('pipeline-jobs', { n: 3 }, {});
  const bus = new LocalPushBus(env.db, [subscription(endpoint.url)], 'local');
  // The first poll is still claiming the row when stop() is called.
  bus.start();
  await bus.stop();
  expect(endpoint.calls()).toBe(1);
  expect((await env.db('bus_messages').first()).delivered_at).not.toBeNull();
});

it('logs a delivery whose outcome cannot be written, and leaves the row to be claimed again', async () => {
  const endpoint = await slowEndpoint(300);
  await localBusTransport(() => env.db).publish('pipeline-jobs', { n: 4 }, {});
  const own = connect(env.url);
  const outcomes: string[] = [];
  const error = jest.spyOn(logger(), 'error').mockImplementation(((message: string) => {
    // Its polls fail too from then on; what matters here is the delivery's own outcome.
    if (message !== 'local bus poll failed') outcomes.push(message);
    return logger();
  }) as never);
  const bus = new LocalPushBus(own, [subscription(endpoint.url)], 'local');
  try {
    bus.start();
    await until(() => endpoint.calls() > 0, 'the delivery');
    // The pool goes while the endpoint is still answering: the delivery cannot record its ack.
    await own.destroy();
    await until(() => outcomes.length > 0, "the delivery's outcome", 10_000);
  } finally {
    await bus.stop();
    error.mockRestore();
  }
  expect(outcomes[0]).toBe('local bus delivery not recorded');
  expect(await env.db('bus_messages').first()).toMatchObject({ attempts: 1, delivered_at: null });
});

it('backs off exponentially up to the maximum', () => {
  const sub = subscription('http://x', { minBackoffSeconds: 10, maxBackoffSeconds: 600 });
  expect([1, 2, 3, 4, 10].map((n) => backoffSeconds(sub, n))).toEqual([10, 20, 40, 80, 600]);
});
