/**
 * The message that says an upload's object is complete, on the upload-finalized topic. In Google
 * Cloud it is the uploads bucket's Pub/Sub notification (OBJECT_FINALIZE, payload JSON_API_V1):
 * the attributes name the event, the bucket and the object (`eventType`, `bucketId`, `objectId`,
 * `objectGeneration`, `payloadFormat`), the data is the object's JSON API resource. Locally the
 * store's PUT handler publishes the same message once the body is written (`finalizedMessage`),
 * so the upload-inspector reads one shape wherever it runs.
 */
import type { CloudEvent } from '@google-cloud/functions-framework';
import type { BrokerMessage } from '../events/transport';

/** The topic the uploads bucket notifies (shared/platform/manifest.ts declares it). */
export const UPLOAD_FINALIZED = 'upload-finalized';

export const FINALIZE_EVENT = 'OBJECT_FINALIZE';
export const JSON_PAYLOAD = 'JSON_API_V1';

export interface FinalizedObject {
  bucket: string;
  /** The object's key as stored (not percent-encoded). */
  name: string;
  /** The object's size as the notice states it, when it does. */
  sizeBytes?: number;
  generation?: string;
}

export type FinalizedNotice =
  ({ kind: 'object'; messageId: string } & FinalizedObject) | { kind: 'ignore'; messageId: string; reason: string };

interface PushData {
  message?: { data?: string; attributes?: Record<string, string>; messageId?: string };
}

/** The JSON API object resource, as far as it is read. */
interface ObjectResource {
  bucket?: unknown;
  name?: unknown;
  size?: unknown;
  generation?: unknown;
}

const text = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);

function resourceOf(data: string | undefined): ObjectResource | null {
  if (!data) return null;
  try {
    const parsed: unknown = JSON.parse(Buffer.from(data, 'base64').toString('utf8'));
    return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as ObjectResource) : null;
  } catch {
    return null;
  }
}

/**
 * What one delivery says: an object that is complete, or why there is nothing to do (another event
 * type, no object named). Never throws: a message that can never name an object is acknowledged,
 * not retried.
 */
export function readFinalizedNotice(event: CloudEvent<unknown>): FinalizedNotice {
  const message = (event.data as PushData | undefined)?.message;
  const messageId = message?.messageId ?? event.id;
  const attributes = message?.attributes ?? {};
  const ignore = (reason: string): FinalizedNotice => ({ kind: 'ignore', messageId, reason });
  if (attributes.eventType !== FINALIZE_EVENT) {
    return ignore(attributes.eventType ? `Cloud Storage event ${attributes.eventType}` : 'no Cloud Storage eventType');
  }
  // The attributes are there whatever the payload format; the resource adds the size.
  const resource = attributes.payloadFormat === JSON_PAYLOAD ? resourceOf(message?.data) : null;
  const bucket = text(attributes.bucketId) ?? text(resource?.bucket);
  const name = text(attributes.objectId) ?? text(resource?.name);
  if (!bucket || !name) return ignore('an OBJECT_FINALIZE notice naming no bucket or object');
  const size = Number(text(resource?.size));
  const generation = text(attributes.objectGeneration) ?? text(resource?.generation);
  return {
    kind: 'object',
    messageId,
    bucket,
    name,
    ...(Number.isSafeInteger(size) && size >= 0 ? { sizeBytes: size } : {}),
    ...(generation ? { generation } : {}),
  };
}

/** The notice Cloud Storage would send for this object, as the local store publishes it. */
export function finalizedMessage(
  object: { bucket: string; key: string; contentType: string; sizeBytes: number },
  at: Date = new Date(),
): BrokerMessage {
  // Cloud Storage's generations are microseconds since the epoch.
  const generation = String(at.getTime() * 1000);
  const time = at.toISOString();
  return {
    data: {
      kind: 'storage#object',
      id: `${object.bucket}/${object.key}/${generation}`,
      name: object.key,
      bucket: object.bucket,
      generation,
      metageneration: '1',
      contentType: object.contentType,
      size: String(object.sizeBytes),
      timeCreated: time,
      updated: time,
    },
    attributes: {
      notificationConfig: 'local',
      eventType: FINALIZE_EVENT,
      payloadFormat: JSON_PAYLOAD,
      bucketId: object.bucket,
      objectId: object.key,
      objectGeneration: generation,
      eventTime: time,
    },
  };
}
