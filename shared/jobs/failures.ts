/**
 * Which failures end a job (bad input, bad media: retrying cannot help) and which are the
 * platform's own trouble (database, storage, a crash: Pub/Sub retries them).
 */
import { MediaError } from '../media';
import { FetchError } from '../net';

export interface JobFailure {
  code: string;
  message: string;
}

export function finalFailure(err: unknown): JobFailure | null {
  if (err instanceof FetchError || err instanceof MediaError) return { code: err.code, message: err.message };
  return null;
}
