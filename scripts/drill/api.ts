/** The drill's partner: the public API as a partner calls it, with one tenant's key. */
import { setTimeout as sleep } from 'node:timers/promises';

export interface Answer<T = Record<string, unknown>> {
  status: number;
  body: T;
}

export type JobStatus = 'PENDING' | 'PROCESSING' | 'COMPLETED' | 'FAILED' | 'CANCELLED';

const FINAL = new Set<JobStatus>(['COMPLETED', 'FAILED', 'CANCELLED']);

export class Partner {
  constructor(
    readonly base: string,
    private readonly key: string,
  ) {}

  async call<T = Record<string, unknown>>(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<Answer<T>> {
    const res = await fetch(`${this.base}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${this.key}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : {}) as T };
  }

  /** Like `call`, but an answer other than `expected` is an error naming what was refused. */
  async expect<T = Record<string, unknown>>(
    expected: number,
    method: string,
    path: string,
    body?: unknown,
    headers = {},
  ) {
    const answer = await this.call<T>(method, path, body, headers);
    if (answer.status !== expected) {
      throw new Error(`${method} ${path} answered ${answer.status}: ${JSON.stringify(answer.body).slice(0, 500)}`);
    }
    return answer.body;
  }

  /**
   * An upload as a partner makes one: a signed URL from POST /uploads and the file PUT to it; its
   * storage_uri. Without `bytes` the URL is never used, and a job on it fails (the object is missing).
   */
  async upload(filename: string, contentType: string, bytes?: Buffer): Promise<string> {
    const signed = await this.expect<{ upload_url: string; headers: Record<string, string>; storage_uri: string }>(
      201,
      'POST',
      '/uploads',
      { filename, content_type: contentType, size_bytes: bytes?.length ?? 1024 },
    );
    if (bytes) {
      const put = await fetch(signed.upload_url, {
        method: 'PUT',
        headers: signed.headers,
        body: new Uint8Array(bytes),
        signal: AbortSignal.timeout(30_000),
      });
      if (!put.ok) throw new Error(`upload of ${filename} failed: ${put.status} ${await put.text()}`);
    }
    return signed.storage_uri;
  }

  async submit(request: Record<string, unknown>, idempotencyKey?: string): Promise<string> {
    const headers: Record<string, string> = idempotencyKey ? { 'idempotency-key': idempotencyKey } : {};
    return (await this.expect<{ job_id: string }>(202, 'POST', '/pipeline/run', request, headers)).job_id;
  }

  async status(jobId: string): Promise<JobStatus> {
    return (await this.expect<{ status: JobStatus }>(200, 'GET', `/pipeline/${jobId}`)).status;
  }

  /** Polls until every job has ended; their statuses, or an error naming the ones still running at `timeoutMs`. */
  async awaitEnd(jobIds: string[], timeoutMs: number): Promise<Map<string, JobStatus>> {
    const statuses = new Map<string, JobStatus>();
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (const id of jobIds) if (!FINAL.has(statuses.get(id) ?? 'PENDING')) statuses.set(id, await this.status(id));
      const open = jobIds.filter((id) => !FINAL.has(statuses.get(id)!));
      if (open.length === 0) return statuses;
      if (Date.now() > deadline) {
        throw new Error(`jobs not ended after ${timeoutMs / 1000} s: ${open.map((id) => `${id} ${statuses.get(id)}`)}`);
      }
      await sleep(500);
    }
  }
}
