/**
 * The fallback for an origin that does not answer range requests: its one answer is kept whole in
 * a file, under a cap, and served from there. The cap keeps the copy within the job's bounded
 * scratch space; larger inputs must come from an origin that answers ranges.
 */
import { createReadStream } from 'node:fs';
import { open, rm, type FileHandle } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { FetchError } from './errors';
import type { InputSource } from './input-server';

/**
 * Writes the body of `res` to `path`, stopping with `tooLarge()` past `maxBytes` bytes (a declared
 * Content-Length may be absent or wrong: the bytes seen count). On any failure the file is removed.
 */
export async function spoolBody(
  res: IncomingMessage,
  path: string,
  opts: { name: string; maxBytes: number; tooLarge: () => FetchError; signal: AbortSignal },
): Promise<InputSource> {
  let file: FileHandle;
  try {
    file = await open(path, 'w');
  } catch (err) {
    res.destroy();
    throw err;
  }
  let bytes = 0;
  try {
    for await (const chunk of readBody(res, opts.name, opts.signal)) {
      bytes += chunk.length;
      if (bytes > opts.maxBytes) throw opts.tooLarge();
      await file.write(chunk);
    }
  } catch (err) {
    res.destroy();
    await file.close();
    await rm(path, { force: true });
    throw err;
  }
  await file.close();
  return fileSource(path, bytes, opts.name);
}

/**
 * The response body, with a broken connection reported as `input_unreachable`. Errors raised by
 * the consumer (a full disk, the size cap) do not pass through here and keep their own meaning.
 */
async function* readBody(res: IncomingMessage, name: string, signal: AbortSignal): AsyncGenerator<Buffer> {
  try {
    for await (const chunk of res) yield chunk as Buffer;
  } catch (err) {
    if (signal.aborted) throw err;
    throw new FetchError('input_unreachable', `${name}: connection lost while reading the body`);
  }
}

/** A file read back in ranges; closing the source removes it. */
function fileSource(path: string, sizeBytes: number, name: string): InputSource {
  return {
    sizeBytes,
    name,
    read: async ({ start, end }) => createReadStream(path, { start, end }),
    close: () => rm(path, { force: true }),
  };
}
