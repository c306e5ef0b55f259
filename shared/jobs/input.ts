/** Brings a job's input into its scratch dir: a guarded download, or a copy of the tenant's upload. */
import { extname, join } from 'node:path';
import { config } from '../config';
import { downloadToFile } from '../net';
import { objectStore } from '../platform';

export async function fetchInput(videoUrl: string, workDir: string, signal: AbortSignal): Promise<string> {
  const url = new URL(videoUrl);
  const dest = join(workDir, `input${extname(url.pathname).toLowerCase() || '.bin'}`);
  if (url.protocol === 'gs:') {
    await objectStore().download(url.host, decodeURIComponent(url.pathname.slice(1)), dest);
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
