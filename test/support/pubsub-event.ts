import type { CloudEvent } from '@google-cloud/functions-framework';

/**
 * A Pub/Sub push delivery as the functions-framework hands it to an event function: the message
 * (its data base64-encoded, absent when `data` is undefined) in the event's `data`.
 */
export function pubsubEvent(
  topic: string,
  subscription: string,
  data: unknown,
  attributes: Record<string, string> = {},
  messageId = 'm-1',
): CloudEvent<unknown> {
  return {
    id: 'event-1',
    specversion: '1.0',
    type: 'google.cloud.pubsub.topic.v1.messagePublished',
    source: `//pubsub.googleapis.com/projects/demo/topics/${topic}`,
    data: {
      message: {
        ...(data === undefined
          ? {}
          : { data: Buffer.from(typeof data === 'string' ? data : JSON.stringify(data)).toString('base64') }),
        attributes,
        messageId,
      },
      subscription: `projects/demo/subscriptions/${subscription}`,
    },
  } as CloudEvent<unknown>;
}
