/** What `npm run publish` accepts: the platform's topics, a JSON object, attributes as Pub/Sub takes them. */
import { parseMessage, UsageError } from '../../scripts/publish/message';
import { TOPICS } from '../../shared/platform/manifest';

it('takes a declared topic, a JSON object and key=value attributes', () => {
  expect(parseMessage('monitoring-alerts', '{"incident":{"state":"open"}}', ['origin=operator', 'note=a=b'])).toEqual({
    topic: 'monitoring-alerts',
    data: { incident: { state: 'open' } },
    attributes: { origin: 'operator', note: 'a=b' },
  });
  expect(parseMessage('secret-rotation', '{}', []).attributes).toEqual({});
});

it.each([
  [['sweeps', '{}', []], `unknown topic "sweeps"; the topics are ${Object.keys(TOPICS).join(', ')}`],
  [['maintenance', 'nope', []], /^the message is not JSON/],
  [['maintenance', '[1]', []], /^the message must be a JSON object/],
  [['maintenance', 'null', []], /^the message must be a JSON object/],
  [['maintenance', '{}', ['novalue']], /^--attribute takes key=value, not "novalue"$/],
  [['maintenance', '{}', ['=x']], /^--attribute takes key=value/],
  [['maintenance', '{}', ['googclient=x']], /keys starting with "goog" are Pub\/Sub's$/],
  [['maintenance', '{}', ['a=1', 'a=2']], /^attribute "a" is given twice$/],
  [['maintenance', '{}', [`k=${'v'.repeat(1025)}`]], /^attribute "k": value over 1024 bytes$/],
  [[undefined, undefined, []], /^a topic and a JSON message are required$/],
] as const)('refuses %j', (args, why) => {
  const [topic, json, attributes] = args;
  expect(() => parseMessage(topic, json, [...attributes])).toThrow(UsageError);
  expect(() => parseMessage(topic, json, [...attributes])).toThrow(why);
});
