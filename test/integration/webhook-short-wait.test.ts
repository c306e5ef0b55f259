/**
 * A short wait before the next attempt (the schedule's 5 s) is slept off by the deliverer in the
 * same invocation; a longer one is left in the delivery's next-attempt time for the tick.
 * No stack runs here, so no tick or bus can make the second attempt instead.
 */
import { randomUUID } from 'node:crypto';
import { keyEncryptionKey, transport } from '../../shared/platform';
import { deliverDue } from '../../shared/webhooks/deliveries';
import { closeTestEnv, newTenantKey, type TestEnv, useTestEnv } from '../support/database';
import { insertWebhook, Receiver } from '../support/webhook-fixtures';

let env: TestEnv;
let receiver: Receiver;

beforeAll(async () => {
  env = await useTestEnv({ AIPROD_WEBHOOK_RETRY_SECONDS: '0,1,600' });
  receiver = await new Receiver().start();
});

afterAll(async () => {
  await receiver.stop();
  await closeTestEnv();
});

async function pendingDelivery(failures: number) {
  const { tenantId } = await newTenantKey(env.db);
  const hook = receiver.route((_r, n) => ({ status: n <= failures ? 503 : 200 }));
  const webhook = await insertWebhook(env.db, { tenantId, url: hook.url });
  hook.verifyWith(webhook.shown);
  const id = randomUUID();
  await env.db('webhook_deliveries').insert({
    id,
    webhook_id: webhook.id,
    tenant_id: tenantId,
    event_id: `evt_${randomUUID().replace(/-/g, '')}`,
    event_type: 'job.completed',
    body: JSON.stringify({ type: 'job.completed', timestamp: new Date().toISOString(), data: {} }),
    next_attempt_at: env.db.fn.now(),
  });
  return { id, path: hook.path };
}

it('sleeps off a short wait and attempts again within the same message', async () => {
  const { id, path } = await pendingDelivery(1);
  const outcome = await deliverDue(env.db, transport(), keyEncryptionKey(), id);
  expect(outcome).toMatchObject({ state: 'succeeded', status_code: 200 });
  expect(receiver.at(path).map((r) => r.headers['webhook-id'])).toHaveLength(2);
  expect(receiver.problems).toEqual([]);
});

it('leaves a long wait to the tick: one attempt, the next one scheduled', async () => {
  const { id, path } = await pendingDelivery(2);
  const outcome = await deliverDue(env.db, transport(), keyEncryptionKey(), id);
  expect(outcome).toMatchObject({ state: 'pending', status_code: 503 });
  expect(receiver.at(path)).toHaveLength(2);
  const row = await env.db('webhook_deliveries').where({ id }).first();
  expect(new Date(row.next_attempt_at).getTime() - Date.now()).toBeGreaterThan(60_000);
});
