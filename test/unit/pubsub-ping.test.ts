/**
 * The readiness check of the bus on Google Cloud: the Pub/Sub transport's ping, with a fake client
 * behind the interface the real one has (topic(name).iam.testPermissions, topic(name).publishMessage).
 * It asks Pub/Sub itself (past the publish breaker), within the probe's timeout, and fails the
 * `bus` check when Pub/Sub errs or does not answer.
 */
import type { PubSub } from '@google-cloud/pubsub';
import { resetConfig } from '../../shared/config';
import { pubSubTransport } from '../../shared/events/pubsub-transport';
import { runChecks } from '../../shared/health/checks';

interface Asked {
  topic: string;
  permissions: string[];
  options: { timeout?: number };
}

function fakeClient(answer: () => Promise<unknown>, publish?: () => Promise<string>) {
  const asked: Asked[] = [];
  const client = {
    topic: (topic: string) => ({
      iam: {
        testPermissions: (permissions: string[], options: { timeout?: number }) => {
          asked.push({ topic, permissions, options });
          return answer();
        },
      },
      publishMessage: publish ?? (async () => 'm-1'),
    }),
  };
  return { client: client as unknown as PubSub, asked };
}

/** A gRPC error as Google's clients raise them. */
const grpcError = (code: number, message: string) => Object.assign(new Error(message), { code });

beforeEach(() => resetConfig());

it('asks Pub/Sub about pipeline-jobs within the timeout it is given, and passes on any answer', async () => {
  // The health function holds no role on Pub/Sub: the answer lists no permission, and that is fine.
  const { client, asked } = fakeClient(async () => [[]]);
  await expect(pubSubTransport(client).ping(1500)).resolves.toBeUndefined();
  expect(asked).toEqual([
    { topic: 'pipeline-jobs', permissions: ['pubsub.topics.publish'], options: { timeout: 1500 } },
  ]);
});

it('fails the bus check when Pub/Sub answers with an error', async () => {
  const { client } = fakeClient(async () => {
    throw grpcError(14, '14 UNAVAILABLE: connection refused');
  });
  const report = await runChecks({ bus: (ms) => pubSubTransport(client).ping(ms) });
  expect(report).toEqual({
    status: 'unavailable',
    checks: { bus: { status: 'fail', latency_ms: expect.any(Number), error: 'unreachable' } },
  });
});

it('fails the bus check, without waiting longer, when Pub/Sub never answers', async () => {
  const { client } = fakeClient(() => new Promise(() => undefined));
  const report = await runChecks({ bus: (ms) => pubSubTransport(client).ping(ms) }, 50);
  expect(report.checks.bus).toEqual({
    status: 'fail',
    latency_ms: expect.any(Number),
    error: 'no answer within 50 ms',
  });
});

it('still asks Pub/Sub while the publish breaker is open', async () => {
  const { client, asked } = fakeClient(
    async () => [[]],
    async () => {
      throw grpcError(14, '14 UNAVAILABLE: connection refused');
    },
  );
  const transport = pubSubTransport(client);
  for (let i = 0; i < 12; i++) await transport.publish('pipeline-jobs', {}, {}).catch(() => undefined);
  await expect(transport.publish('pipeline-jobs', {}, {})).rejects.toMatchObject({ reason: 'breaker_open' });
  await expect(transport.ping(1000)).resolves.toBeUndefined();
  expect(asked).toHaveLength(1);
});
