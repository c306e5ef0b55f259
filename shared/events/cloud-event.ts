/**
 * A Pub/Sub push delivery as the functions-framework hands it to a `cloudEvent` handler: the
 * framework has already turned the push envelope into a CloudEvent whose data is the Pub/Sub message.
 */
import type { CloudEvent } from '@google-cloud/functions-framework';

export interface PubSubMessage<T> {
  data: T;
  attributes: Record<string, string>;
  messageId: string;
}

interface PushData {
  message?: { data?: string; attributes?: Record<string, string>; messageId?: string };
}

export class MalformedMessage extends Error {}

export function decodePubSub<T = unknown>(event: CloudEvent<unknown>): PubSubMessage<T> {
  const message = (event.data as PushData | undefined)?.message;
  if (!message?.data) throw new MalformedMessage('event carries no Pub/Sub message data');
  let data: T;
  try {
    data = JSON.parse(Buffer.from(message.data, 'base64').toString('utf8')) as T;
  } catch {
    throw new MalformedMessage('Pub/Sub message data is not base64 JSON');
  }
  return { data, attributes: message.attributes ?? {}, messageId: message.messageId ?? event.id };
}
