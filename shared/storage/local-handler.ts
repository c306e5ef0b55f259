import { open, type FileHandle } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { parseRange } from './byte-range';
import type { LocalObjectStore } from './local';
import { sendProblem } from './local-problem';
import { receiveUpload, type ReceiveOptions } from './local-upload';
import { STORAGE_PATH_PREFIX } from './signed-path';

async function openObject(path: string): Promise<{ handle: FileHandle; size: number } | null> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw err;
  }
  // Size from the open descriptor: a concurrent put renames a new file in, this one stays whole.
  const info = await handle.stat();
  if (info.isFile()) return { handle, size: info.size };
  await handle.close();
  return null;
}

async function serve(
  store: LocalObjectStore,
  req: IncomingMessage,
  res: ServerResponse,
  opts: ReceiveOptions,
): Promise<void> {
  const target = req.url ?? '';
  if (!target.startsWith(STORAGE_PATH_PREFIX)) return sendProblem(res, 404, 'not_found');
  if (req.method === 'PUT') return receiveUpload(store, req, res, opts);
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    return sendProblem(res, 405, 'method_not_allowed', { Allow: 'GET, HEAD, PUT' });
  }
  const access = store.authorize(target);
  if (!access.ok) return sendProblem(res, 403, access.code);

  const object = await openObject(store.filePath(access.bucket, access.key));
  if (!object) return sendProblem(res, 404, 'not_found');
  const { handle, size } = object;
  try {
    const range = parseRange(req.headers.range, size);
    if (range === 'unsatisfiable')
      return sendProblem(res, 416, 'range_not_satisfiable', { 'Content-Range': `bytes */${size}` });

    const headers: Record<string, string | number> = {
      'Content-Type': await store.contentTypeOf(access.bucket, access.key),
      'Accept-Ranges': 'bytes',
      'X-Content-Type-Options': 'nosniff',
      // The URL is a bearer credential; shared caches must not keep what it unlocks.
      'Cache-Control': 'private',
    };
    const start = range?.start ?? 0;
    const end = range?.end ?? size - 1;
    headers['Content-Length'] = end - start + 1;
    if (range) headers['Content-Range'] = `bytes ${start}-${end}/${size}`;
    res.writeHead(range ? 206 : 200, headers);
    if (req.method === 'HEAD' || size === 0) {
      res.end();
      return;
    }
    await pipeline(handle.createReadStream({ start, end, autoClose: false }), res);
  } finally {
    await handle.close();
  }
}

/**
 * Serves the local backend's signed URLs (`GET|HEAD /_storage/<bucket>/<key>?expires=&signature=`),
 * the embedded mode's stand-in for Cloud Storage V4 URLs. Single byte ranges are honoured because
 * video players seek with them. Signed upload URLs take a PUT (local-upload.ts); `opts.onStored`
 * hears of each object a PUT completed.
 */
export function localStorageHandler(
  store: LocalObjectStore,
  opts: ReceiveOptions = {},
): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    serve(store, req, res, opts).catch(() => {
      // After the headers are out, the only honest signal left is to cut the connection.
      if (res.headersSent) res.destroy();
      else sendProblem(res, 500, 'internal_error');
    });
  };
}
