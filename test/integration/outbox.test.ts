/**
 * The outbox's two ways out: a broker outside the database (Pub/Sub) gets the message after
 * commit, with the row marked published, or retried by the sweeper after a failure; the local
 * bus takes it in the writer's own statement.
 */
import { randomUUID } from 'node:crypto';
import knex from 'knex';
import { enqueueWith, publishCommitted, republishDue, type Change } from '../../shared/events/outbox';
import { localBusTransport } from '../../shared/events/local-transport';
import type { Transport } from '../../shared/events/transport';
import { closeTestEnv, newTenantKey, TestEnv, useTestEnv } from '../support/database';

let env: TestEnv;
let tenantId: string;

beforeAll(async () => {
  env = await useTestEnv();
  tenantId = (await newTenantKey(env.db)).tenantId;
});

afterAll(closeTestEnv);

/** A broker outside the database, as Pub/Sub is: it only has publish. */
function recordingBroker(fail = false): Transport & { sent: { topic: string; attributes: Record<string, string> }[] } {
  const sent: { topic: string; attributes: Record<string, string> }[] = [];
  return {
    sent,
    async publish(topic, _data, attributes) {
      if (fail) throw new Error('broker unavailable');
      sent.push({ topic, attributes });
      return `m-${sent.length}`;
    },
    async ping() {
      if (fail) throw new Error('broker unavailable');
    },
  };
}

const job = () => {
  const id = randomUUID();
  return {
    id,
    change: env.db('jobs').insert({ id, tenant_id: tenantId, status: 'PENDING', recipe: 'dub', request: {} }),
  };
};

const row = (id: number) => env.db('outbox').where({ id }).first();

/** One message with its change: the message to publish, or null when the transport took it. */
const enqueueOne = async (
  k: typeof env.db,
  transport: Transport,
  changes: Record<string, Change>,
  topic: string,
  payload: unknown,
) => (await enqueueWith(k, transport, changes, topic, [{ payload, attributes: {} }]))[0] ?? null;

it('writes many messages with their change in one statement, each queued message naming its own row', async () => {
  const broker = recordingBroker();
  const ids = Array.from({ length: 30 }, () => randomUUID());
  const change = env
    .db('jobs')
    .insert(ids.map((id) => ({ id, tenant_id: tenantId, status: 'PENDING', recipe: 'dub', request: {} })));
  const messages = ids.map((id, n) => ({ payload: { job_id: id }, attributes: { n: String(n) } }));
  const queued = await enqueueWith(env.db, broker, { job: change }, 'pipeline-jobs', messages);
  expect(queued.map((m) => m.payload)).toEqual(messages.map((m) => m.payload));
  for (const m of queued) {
    expect(await row(m.id)).toMatchObject({
      topic: 'pipeline-jobs',
      payload: m.payload,
      attributes: m.attributes,
      attempts: 0,
    });
  }
  expect(await publishCommitted(env.db, broker, queued)).toBe(30);
  expect(broker.sent.map((s) => s.attributes.n)).toEqual(ids.map((_, n) => String(n)));
});

it('writes the change and its message in one statement, and publishes it after commit', async () => {
  const broker = recordingBroker();
  const { id, change } = job();
  const queued = await enqueueOne(env.db, broker, { job: change }, 'pipeline-jobs', { job_id: id });
  expect(queued).not.toBeNull();
  expect(await env.db('jobs').where({ id }).first()).toBeDefined();
  expect((await row(queued!.id)).published_at).toBeNull();
  expect(await publishCommitted(env.db, broker, [queued!])).toBe(1);
  expect(broker.sent).toEqual([{ topic: 'pipeline-jobs', attributes: { outbox_id: String(queued!.id) } }]);
  expect(await row(queued!.id)).toMatchObject({ attempts: 1, last_error: null });
  expect((await row(queued!.id)).published_at).not.toBeNull();
});

it('never throws when the outcome of a publish cannot be recorded: the row stays due for the sweeper', async () => {
  const broker = recordingBroker();
  const { id, change } = job();
  const queued = (await enqueueOne(env.db, broker, { job: change }, 'pipeline-jobs', { job_id: id }))!;
  // The database gone between the commit and the mark, as a pool that cannot connect is.
  const gone = knex({ client: 'pg', connection: 'postgres://127.0.0.1:1/none', pool: { min: 0, max: 1 } });
  try {
    expect(await publishCommitted(gone, broker, [queued])).toBe(1);
  } finally {
    await gone.destroy();
  }
  expect(broker.sent).toHaveLength(1);
  expect(await row(queued.id)).toMatchObject({ attempts: 0, published_at: null });
});

it('leaves a failed publish to the sweeper, which takes it once the writer’s grace period is over', async () => {
  const { id, change } = job();
  const queued = (await enqueueOne(env.db, recordingBroker(true), { job: change }, 'pipeline-jobs', { job_id: id }))!;
  expect(await publishCommitted(env.db, recordingBroker(true), [queued])).toBe(0);
  expect(await row(queued.id)).toMatchObject({ attempts: 1, last_error: 'broker unavailable', published_at: null });

  const sweeper = recordingBroker();
  expect(await republishDue(env.db, sweeper)).toBe(0); // still the writer's
  await env
    .db('outbox')
    .where({ id: queued.id })
    .update({ next_attempt_at: env.db.raw("now() - interval '1 second'") });
  expect(await republishDue(env.db, sweeper)).toBe(1);
  expect(sweeper.sent.map((m) => m.attributes.outbox_id)).toEqual([String(queued.id)]);
  expect((await row(queued.id)).published_at).not.toBeNull();
});

it('hands the message to the local bus inside the same statement: nothing left to publish', async () => {
  const { id, change } = job();
  const queued = await enqueueOne(
    env.db,
    localBusTransport(() => env.db),
    { job: change },
    'pipeline-jobs',
    {
      job_id: id,
    },
  );
  expect(queued).toBeNull();
  const message = await env.db('outbox').whereRaw("payload->>'job_id' = ?", [id]).first();
  expect(message.published_at).not.toBeNull();
  const bus = await env.db('bus_messages').where({ topic: 'pipeline-jobs', subscription: 'job-processor-push' });
  expect(bus.map((b) => JSON.parse(Buffer.from(b.data, 'base64').toString()).job_id)).toContain(id);
});

it('writes nothing when the statement fails: no job, no message, no bus row', async () => {
  const id = randomUUID();
  const bad = env.db('jobs').insert({ id, tenant_id: randomUUID(), status: 'PENDING', recipe: 'dub', request: {} });
  await expect(
    enqueueOne(
      env.db,
      localBusTransport(() => env.db),
      { job: bad },
      'pipeline-jobs',
      { job_id: id },
    ),
  ).rejects.toThrow(/foreign key/);
  expect(await env.db('outbox').whereRaw("payload->>'job_id' = ?", [id]).first()).toBeUndefined();
  const bus = await env.db('bus_messages').where({ topic: 'pipeline-jobs' });
  expect(bus.map((b) => JSON.parse(Buffer.from(b.data, 'base64').toString()).job_id)).not.toContain(id);
});
