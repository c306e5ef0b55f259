import type { IncomingMessage, ServerResponse } from 'node:http';
import { ObjectExistsError, ObjectSizeError, type LocalObjectStore } from './local';
import { sendProblem } from './local-problem';

/**
 * A refusal before the body was read: the connection is closed after the answer, so the
 * unread body is dropped with it instead of being read (it may be gigabytes) or mistaken for
 * the next request.
 */
function refuse(
  res: ServerResponse,
  status: Parameters<typeof sendProblem>[1],
  code: string,
  detail: string,
  headers: Record<string, string> = {},
): void {
  sendProblem(res, status, code, { ...headers, Connection: 'close' }, detail);
}

/** An object a signed PUT has just written whole. */
export interface StoredUpload {
  bucket: string;
  key: string;
  contentType: string;
  sizeBytes: number;
}

export interface ReceiveOptions {
  /**
   * Told of each object once its body is completely written, before the PUT is answered: the local
   * stand-in for the bucket's OBJECT_FINALIZE notification. It must not reject (a failure is its
   * own to log); one that does anyway does not undo the stored upload.
   */
  onStored?: (object: StoredUpload) => Promise<void>;
}

/**
 * `PUT /_storage/<bucket>/<key>?expires=&content_type=&content_length=&signature=`, the local
 * stand-in for a Cloud Storage V4 signed PUT: the body is streamed to the bucket only when the
 * request sends the signed type and exactly the signed length, and never replaces an object.
 */
export async function receiveUpload(
  store: LocalObjectStore,
  req: IncomingMessage,
  res: ServerResponse,
  opts: ReceiveOptions = {},
): Promise<void> {
  const access = store.authorizeUpload(req.url ?? '');
  if (!access.ok) return refuse(res, 403, access.code, 'The upload URL is not one this service signed, or it expired.');

  const { bucket, key, contentType, sizeBytes } = access;
  if ((req.headers['content-type'] ?? '').trim() !== contentType) {
    return refuse(res, 415, 'content_type_mismatch', `Send Content-Type: ${contentType}, as signed.`);
  }
  const declared = req.headers['content-length'];
  if (declared === undefined) {
    return refuse(res, 411, 'length_required', `Send Content-Length: ${sizeBytes}, as signed.`);
  }
  if (declared !== String(sizeBytes)) {
    return refuse(res, 400, 'content_length_mismatch', `The body must be exactly ${sizeBytes} bytes, as signed.`);
  }
  if (await store.exists(bucket, key)) {
    return refuse(res, 409, 'object_exists', 'This upload URL was used already; request a new one.');
  }

  try {
    await store.createFrom(bucket, key, req, contentType, sizeBytes);
  } catch (err) {
    if (err instanceof ObjectExistsError) return refuse(res, 409, err.code, 'This upload URL was used already.');
    // A body cut short never reaches the bucket; whoever sent it may still read why.
    if (err instanceof ObjectSizeError || !req.complete) {
      return refuse(res, 400, 'content_length_mismatch', `The body must be exactly ${sizeBytes} bytes, as signed.`);
    }
    throw err;
  }
  await opts.onStored?.({ bucket, key, contentType, sizeBytes }).catch(() => undefined);
  res.writeHead(200, { 'Content-Length': 0, 'Cache-Control': 'no-store' });
  res.end();
}
