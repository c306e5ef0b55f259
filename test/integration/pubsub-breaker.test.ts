/**
 * Publishing to Pub/Sub through its circuit breaker, the adapter's own logic against a double of
 * the Pub/Sub client (the calls it makes, the breaker, the error mapping), and the outbox in the
 * real database: while Pub/Sub is down every row stays unpublished, and once it is back the
 * sweeper's republish delivers each of them. Nothing is lost.
 */
import type { PubSub } from '@google-cloud/pubsub';
import { enqueue, publishCommitted, republishDue, type OutboxMessage } from '../../shared/events/outbox';
import { pubSubTransport, PublishError } from '../../shared/events/pubsub-transport';
import { breakerState, untilBreakerState } from '../support/breaker-metrics';
import { closeTestEnv, TestEnv, useTestEnv } from '../support/database';

const BREAKER = 'pubsub:publish';
const BREAKER_ENV = { AIPROD_BREAKER_MIN_CALLS: '4', AIPROD_BREAKER_RESET_MS: '1000' };

let env: TestEnv;

beforeAll(async () => {
  env = await useTestEnv(BREAKER_ENV);
});

afterAll(async () => {
  await closeTestEnv();
  for (const name of Object.keys(BREAKER_ENV)) delete process.env[name];
});

/** gRPC errors as the client library raises them: a numeric `code` and the server's `details`. */
const grpcError = (code: number, name: string, details: string) =>
  Object.assign(new Error(`${code} ${name}: ${details}`), { code, details });

/** The one call the adapter makes, `topic(name).publishMessage(...)`, recorded; it fails with `failure` while set. */
function pubSubDouble() {
  const double = {
    failure: null as Error | null,
    requests: 0,
    published: [] as { topic: string; outboxId: string; data: unknown }[],
  };
  const client = {
    topic: (topic: string) => ({
      publishMessage: async (message: { data: Buffer; attributes: Record<string, string> }) => {
        double.requests += 1;
        if (double.failure) throw double.failure;
        double.published.push({
          topic,
          outboxId: message.attributes.outbox_id!,
          data: JSON.parse(message.data.toString('utf8')),
        });
        return `m-${double.published.length}`;
      },
    }),
  };
  return { double, transport: pubSubTransport(client as unknown as PubSub) };
}

const rows = (ids: number[]) => env.db('outbox').whereIn('id', ids).orderBy('id');

it('fails fast while Pub/Sub is down, keeps every row, and the sweeper publishes each once it is back', async () => {
  const { double, transport } = pubSubDouble();
  double.failure = grpcError(14, 'UNAVAILABLE', 'Connection dropped');
  const messages: OutboxMessage[] = [];
  for (let n = 0; n < 10; n++) messages.push(await enqueue(env.db, 'job-results', { n }, { n: String(n) }));
  const ids = messages.map((m) => m.id);

  // The first four reach Pub/Sub and fail: enough to open the breaker.
  expect(await publishCommitted(env.db, transport, messages.slice(0, 4))).toBe(0);
  expect(double.requests).toBe(4);
  expect(await breakerState(BREAKER)).toBe(2);

  // Open: the rest fail at once, without a request.
  expect(await publishCommitted(env.db, transport, messages.slice(4))).toBe(0);
  const direct = await transport.publish('job-results', { n: 'direct' }, {}).catch((err: unknown) => err);
  expect(direct).toBeInstanceOf(PublishError);
  expect(direct).toMatchObject({ topic: 'job-results', reason: 'breaker_open' });
  expect(double.requests).toBe(4);

  // Every row is kept, unpublished, saying why.
  const kept = await rows(ids);
  expect(kept.every((r) => r.published_at === null && r.attempts === 1)).toBe(true);
  for (const r of kept.slice(0, 4)) expect(r.last_error).toMatch(/failed \(UNAVAILABLE\): Connection dropped/);
  for (const r of kept.slice(4)) expect(r.last_error).toMatch(/circuit breaker pubsub:publish is open/);

  // Pub/Sub is back. The sweeper claims due rows; their retry time is brought forward rather than waited out.
  double.failure = null;
  await untilBreakerState(BREAKER, 1);
  for (let round = 0; round < 5; round++) {
    const left = await env.db('outbox').whereIn('id', ids).whereNull('published_at');
    if (left.length === 0) break;
    await env.db('outbox').whereIn('id', ids).whereNull('published_at').update({ next_attempt_at: env.db.fn.now() });
    await republishDue(env.db, transport);
  }
  const published = await rows(ids);
  expect(published.every((r) => r.published_at !== null && r.last_error === null)).toBe(true);
  expect(new Set(double.published.map((p) => Number(p.outboxId)))).toEqual(new Set(ids));
  expect(double.published.map((p) => (p.data as { n: number }).n).sort((a, b) => a - b)).toEqual([
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9,
  ]);
  expect(await breakerState(BREAKER)).toBe(0);
});

it('maps errors, and a refusal of the publish (NOT_FOUND) never opens it', async () => {
  const { double, transport } = pubSubDouble();
  double.failure = grpcError(5, 'NOT_FOUND', 'Resource not found (resource=job-results).');
  for (let i = 0; i < 8; i++) {
    const err = await transport.publish('job-results', { i }, {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PublishError);
    expect(err).toMatchObject({ reason: 'refused' });
    expect((err as Error).message).toBe(
      'Pub/Sub publish to job-results failed (NOT_FOUND): Resource not found (resource=job-results).',
    );
  }
  expect(double.requests).toBe(8);
  expect(await breakerState(BREAKER)).toBe(0);

  double.failure = grpcError(4, 'DEADLINE_EXCEEDED', 'Deadline exceeded');
  const transient = await transport.publish('job-results', {}, {}).catch((e: unknown) => e);
  expect(transient).toMatchObject({ reason: 'transient' });
  expect((transient as Error).message).toMatch(/failed \(DEADLINE_EXCEEDED\)/);
});
