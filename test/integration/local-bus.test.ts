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
import { closeTestEnv, TestEnv, useTestEnv } from '../support/database';

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

it('backs off exponentially up to the maximum', () => {
  const sub = subscription('http://x', { minBackoffSeconds: 10, maxBackoffSeconds: 600 });
  expect([1, 2, 3, 4, 10].map((n) => backoffSeconds(sub, n))).toEqual([10, 20, 40, 80, 600]);
});
