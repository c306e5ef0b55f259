/**
 * What `npm run publish` sends: a topic the platform declares, a JSON object as the message's
 * data, and Pub/Sub attributes within Pub/Sub's own limits, so a message that passes here is one
 * Pub/Sub would have taken too.
 */
import { TOPICS, type Topic } from '../../shared/platform/manifest';

export interface Message {
  topic: Topic;
  data: Record<string, unknown>;
  attributes: Record<string, string>;
}

/** A mistake of the operator's, reported on one line. */
export class UsageError extends Error {}

// Pub/Sub's limits: 100 attributes, keys up to 256 bytes, values up to 1024; `goog` is reserved.
const MAX_ATTRIBUTES = 100;
const MAX_KEY_BYTES = 256;
const MAX_VALUE_BYTES = 1024;
// Pub/Sub's limit is 10 MB; Cloud Scheduler's own bodies are far below it, and the bus keeps the data as text.
const MAX_DATA_BYTES = 1024 * 1024;

const isTopic = (name: string): name is Topic => Object.hasOwn(TOPICS, name);

function parseData(json: string): Record<string, unknown> {
  let data: unknown;
  try {
    data = JSON.parse(json);
  } catch (err) {
    throw new UsageError(`the message is not JSON (${(err as Error).message})`);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new UsageError(`the message must be a JSON object, e.g. '{"action":"sweep"}'`);
  }
  if (Buffer.byteLength(json) > MAX_DATA_BYTES) throw new UsageError(`the message is over ${MAX_DATA_BYTES} bytes`);
  return data as Record<string, unknown>;
}

function parseAttribute(pair: string): [string, string] {
  const at = pair.indexOf('=');
  const key = at < 0 ? pair : pair.slice(0, at);
  if (at < 1) throw new UsageError(`--attribute takes key=value, not "${pair}"`);
  if (key.startsWith('goog')) throw new UsageError(`attribute "${key}": keys starting with "goog" are Pub/Sub's`);
  if (Buffer.byteLength(key) > MAX_KEY_BYTES)
    throw new UsageError(`attribute "${key}": key over ${MAX_KEY_BYTES} bytes`);
  const value = pair.slice(at + 1);
  if (Buffer.byteLength(value) > MAX_VALUE_BYTES) {
    throw new UsageError(`attribute "${key}": value over ${MAX_VALUE_BYTES} bytes`);
  }
  return [key, value];
}

export function parseMessage(topic: string | undefined, json: string | undefined, attributes: string[]): Message {
  if (!topic || json === undefined) throw new UsageError('a topic and a JSON message are required');
  if (!isTopic(topic)) {
    throw new UsageError(`unknown topic "${topic}"; the topics are ${Object.keys(TOPICS).join(', ')}`);
  }
  if (attributes.length > MAX_ATTRIBUTES) throw new UsageError(`at most ${MAX_ATTRIBUTES} attributes`);
  const pairs = attributes.map(parseAttribute);
  const duplicate = pairs.find(([key], i) => pairs.findIndex(([other]) => other === key) !== i);
  if (duplicate) throw new UsageError(`attribute "${duplicate[0]}" is given twice`);
  return { topic, data: parseData(json), attributes: Object.fromEntries(pairs) };
}
