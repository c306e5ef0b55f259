import { readRotationMessage } from '../../shared/secrets/rotation/orders';
import { pubsubEvent } from '../support/pubsub-event';

/** A push delivery on secret-rotation, as the functions-framework hands it over. */
const event = (data: unknown, attributes: Record<string, string> = {}, messageId = 'm-1') =>
  pubsubEvent('secret-rotation', 'secret-rotator-push', data, attributes, messageId);

/** What Secret Manager publishes: the Secret resource as data, the event in the attributes. */
const notice = (eventType: string, secretId = 'projects/123456789/secrets/metrics-token') =>
  event(
    { name: secretId, createTime: '2025-01-01T00:00:00Z', rotation: { rotationPeriod: '7776000s' } },
    { eventType, secretId, dataFormat: 'JSON_API_V1', timestamp: '2025-04-01T00:00:00.000000Z' },
    'n-1',
  );

test("Cloud Scheduler's tick rotates what is due", () => {
  expect(readRotationMessage(event({ action: 'rotate' }))).toEqual({
    messageId: 'm-1',
    order: { kind: 'rotate', trigger: 'schedule', dryRun: false, force: false },
  });
});

test("an operator's order names a secret, forces it, or only asks what would happen", () => {
  expect(readRotationMessage(event({ action: 'rotate', dry_run: true })).order).toEqual({
    kind: 'rotate',
    trigger: 'schedule',
    dryRun: true,
    force: false,
  });
  expect(readRotationMessage(event({ action: 'rotate', secret: 'database-url', force: true })).order).toEqual({
    kind: 'rotate',
    trigger: 'manual',
    dryRun: false,
    only: 'database-url',
    force: true,
  });
  expect(readRotationMessage(event({ action: 'finish' })).order).toEqual({ kind: 'finish' });
});

test("Secret Manager's SECRET_ROTATE names the secret to rotate", () => {
  expect(readRotationMessage(notice('SECRET_ROTATE'))).toEqual({
    messageId: 'n-1',
    order: { kind: 'notice', secret: 'metrics-token' },
  });
});

test.each(['SECRET_VERSION_ADD', 'SECRET_VERSION_DISABLE', 'SECRET_UPDATE'])(
  'a %s notice (a rotation of ours makes them) is ignored',
  (type) => {
    expect(readRotationMessage(notice(type)).order).toEqual({ kind: 'ignore', reason: `Secret Manager event ${type}` });
  },
);

test('the test message of a topic being configured, which has no data, is ignored', () => {
  expect(readRotationMessage(event(undefined, { eventType: 'TOPIC_CONFIGURED' })).order).toEqual({
    kind: 'ignore',
    reason: 'Secret Manager event TOPIC_CONFIGURED',
  });
});

test.each([
  ['not JSON', 'rotate!'],
  ['an unknown action', { action: 'delete' }],
  ['an unknown field', { action: 'rotate', everything: true }],
  ['a secret id that is no id', { action: 'rotate', secret: '../x' }],
  ['no data at all', undefined],
])('%s is no order, ignored rather than retried', (_, data) => {
  expect(readRotationMessage(event(data)).order.kind).toBe('ignore');
});

test('a SECRET_ROTATE without a readable secretId is ignored', () => {
  expect(readRotationMessage(notice('SECRET_ROTATE', 'metrics-token')).order.kind).toBe('ignore');
});
