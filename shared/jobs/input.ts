/** Brings a job's input into its scratch dir: a guarded download, or a copy of the tenant's upload. */
import { extname, join } from 'node:path';
import { config } from '../config';
import { downloadToFile, FetchError } from '../net';
import { objectStore } from '../platform';
import { ObjectNotFoundError } from '../storage';

export async function fetchInput(videoUrl: string, workDir: string, signal: AbortSignal): Promise<string> {
  const url = new URL(videoUrl);
  const dest = join(workDir, `input${extname(url.pathname).toLowerCase() || '.bin'}`);
  if (url.protocol === 'gs:') {
    try {
      await objectStore().download(url.host, decodeURIComponent(url.pathname.slice(1)), dest);
    } catch (err) {
      // An upload that was never finished is the partner's to fix, not ours to retry: the job
      // fails at once, as for a missing http(s) input, rather than when its attempts run out.
      if (err instanceof ObjectNotFoundError) {
        throw new FetchError('input_http_error', `${videoUrl}: no such object (was the upload finished?)`, 404);
      }
      throw err;
    }
    return dest;
  }
  const c = config();
  await downloadToFile(videoUrl, dest, {
    maxBytes: c.AIPROD_MAX_INPUT_BYTES,
    timeoutMs: c.AIPROD_FETCH_TIMEOUT_MS,
    allowPrivate: c.AIPROD_ALLOW_PRIVATE_URLS,
    signal,
  });
  return dest;
}
