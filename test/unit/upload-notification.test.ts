/**
 * The upload-finalized message: the uploads bucket's Pub/Sub notification as Cloud Storage sends
 * it (OBJECT_FINALIZE, JSON_API_V1), the one the local store publishes after a PUT, and what is
 * acknowledged as nothing to do; and the key of an upload read off the object's name.
 */
import type { CloudEvent } from '@google-cloud/functions-framework';
import { parseUploadKey } from '../../shared/uploads/location';
import { finalizedMessage, readFinalizedNotice } from '../../shared/uploads/notification';
import { pubsubEvent } from '../support/pubsub-event';

const TENANT = '7b0c54c4-5f0e-4a57-9d1e-2b1c3a4d5e6f';
const UPLOAD = 'c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e5f';
const KEY = `${TENANT}/${UPLOAD}/interview_take_1.mp4`;

/** A push delivery on upload-finalized, as the functions-framework hands it over. */
const event = (data: unknown, attributes: Record<string, string>, messageId = 'm-1') =>
  pubsubEvent('upload-finalized', 'upload-inspector-push', data, attributes, messageId);

/** What Cloud Storage publishes for a finished object (Pub/Sub notifications, JSON_API_V1). */
const gcsNotice = (overrides: Record<string, string> = {}, resource: Record<string, unknown> = {}) =>
  event(
    {
      kind: 'storage#object',
      id: `demo-aiprod-uploads/${KEY}/1733079000123456`,
      selfLink: `https://www.googleapis.com/storage/v1/b/demo-aiprod-uploads/o/${encodeURIComponent(KEY)}`,
      name: KEY,
      bucket: 'demo-aiprod-uploads',
      generation: '1733079000123456',
      metageneration: '1',
      contentType: 'video/mp4',
      timeCreated: '2024-12-01T18:50:00.123Z',
      updated: '2024-12-01T18:50:00.123Z',
      storageClass: 'STANDARD',
      size: '1048576',
      md5Hash: 'XrY7u+Ae7tCTyyK7j1rNww==',
      crc32c: 'yZRlqg==',
      etag: 'CMDv4s2Z+YkDEAE=',
      ...resource,
    },
    {
      notificationConfig: 'projects/_/buckets/demo-aiprod-uploads/notificationConfigs/1',
      eventType: 'OBJECT_FINALIZE',
      payloadFormat: 'JSON_API_V1',
      bucketId: 'demo-aiprod-uploads',
      objectId: KEY,
      objectGeneration: '1733079000123456',
      eventTime: '2024-12-01T18:50:00.123456Z',
      ...overrides,
    },
    'n-1',
  );

describe('readFinalizedNotice', () => {
  it("reads Cloud Storage's OBJECT_FINALIZE notice: bucket, object, size and generation", () => {
    expect(readFinalizedNotice(gcsNotice())).toEqual({
      kind: 'object',
      messageId: 'n-1',
      bucket: 'demo-aiprod-uploads',
      name: KEY,
      sizeBytes: 1048576,
      generation: '1733079000123456',
    });
  });

  it('reads the same from the message the local store publishes', () => {
    const at = new Date('2026-12-01T19:00:00.000Z');
    const { data, attributes } = finalizedMessage(
      { bucket: 'aiprod-uploads', key: KEY, contentType: 'video/mp4', sizeBytes: 2048 },
      at,
    );
    expect(attributes).toMatchObject({ eventType: 'OBJECT_FINALIZE', payloadFormat: 'JSON_API_V1', objectId: KEY });
    expect(data).toMatchObject({ kind: 'storage#object', name: KEY, bucket: 'aiprod-uploads', size: '2048' });
    expect(readFinalizedNotice(event(data, attributes))).toEqual({
      kind: 'object',
      messageId: 'm-1',
      bucket: 'aiprod-uploads',
      name: KEY,
      sizeBytes: 2048,
      generation: String(at.getTime() * 1000),
    });
  });

  it('takes the object from the attributes when there is no payload (payload format NONE)', () => {
    const notice = event(undefined, {
      eventType: 'OBJECT_FINALIZE',
      payloadFormat: 'NONE',
      bucketId: 'demo-aiprod-uploads',
      objectId: KEY,
    });
    expect(readFinalizedNotice(notice)).toEqual({
      kind: 'object',
      messageId: 'm-1',
      bucket: 'demo-aiprod-uploads',
      name: KEY,
    });
  });

  it('keeps the attributes when the payload is not JSON, and ignores a size that is no count of bytes', () => {
    expect(readFinalizedNotice(gcsNotice({}, { size: 'lots' }))).not.toHaveProperty('sizeBytes');
    const garbled = event('{not json', {
      eventType: 'OBJECT_FINALIZE',
      payloadFormat: 'JSON_API_V1',
      bucketId: 'b',
      objectId: KEY,
    });
    expect(readFinalizedNotice(garbled)).toEqual({ kind: 'object', messageId: 'm-1', bucket: 'b', name: KEY });
  });

  it.each([
    ['another event type', gcsNotice({ eventType: 'OBJECT_DELETE' }), 'Cloud Storage event OBJECT_DELETE'],
    [
      'a metadata update',
      gcsNotice({ eventType: 'OBJECT_METADATA_UPDATE' }),
      'Cloud Storage event OBJECT_METADATA_UPDATE',
    ],
    ['a message with no event type', event({ action: 'sweep' }, {}), 'no Cloud Storage eventType'],
    [
      'a finalize naming no object',
      event(undefined, { eventType: 'OBJECT_FINALIZE', payloadFormat: 'NONE', bucketId: 'b' }),
      'an OBJECT_FINALIZE notice naming no bucket or object',
    ],
  ])('acknowledges %s as nothing to do, saying why', (_what, notice, reason) => {
    expect(readFinalizedNotice(notice)).toEqual({ kind: 'ignore', messageId: expect.any(String), reason });
  });

  it('never throws, even on a delivery that carries no message', () => {
    const bare = { id: 'e-2', specversion: '1.0', type: 't', source: 's' } as CloudEvent<unknown>;
    expect(readFinalizedNotice(bare)).toEqual({
      kind: 'ignore',
      messageId: 'e-2',
      reason: 'no Cloud Storage eventType',
    });
  });
});

describe('parseUploadKey', () => {
  it("reads the tenant, the upload and the file name off an upload's key", () => {
    expect(parseUploadKey(KEY)).toEqual({ tenantId: TENANT, uploadId: UPLOAD, filename: 'interview_take_1.mp4' });
  });

  it.each([
    ['a key of two segments', `${TENANT}/clip.mp4`],
    ['a key of four segments', `${TENANT}/${UPLOAD}/sub/clip.mp4`],
    ['an empty file name', `${TENANT}/${UPLOAD}/`],
    ['a tenant that is no UUID', `demo/${UPLOAD}/clip.mp4`],
    ['an upload id that is no UUID', `${TENANT}/sample/clip.mp4`],
    ['an upper-case UUID', `${TENANT}/${UPLOAD.toUpperCase()}/clip.mp4`],
  ])('is null for %s', (_what, key) => {
    expect(parseUploadKey(key)).toBeNull();
  });
});
