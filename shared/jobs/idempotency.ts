/**
 * `Idempotency-Key` semantics from the IETF httpapi draft, for both ways of submitting work
 * (POST /pipeline/run and POST /pipeline/batch). A key is reserved with the request's fingerprint
 * before anything is written, then names the job or the batch written in the same statement or
 * transaction. A retry with the same key and body gets what the first request made; the same key
 * with another body answers 422; the same key while the first request is still being written, 409.
 * Keys are per tenant and shared by both endpoints: a job's key sent with a batch is another body.
 */
import type { Knex } from 'knex';
import { ConflictError, UnprocessableError } from '../errors';
import type { JobRequest } from './request';

/** A key whose first request died before finishing may be reused after this long. */
const IN_FLIGHT_STALE_SECONDS = 60;

/** What a key's first request made, for its retry to answer the same. */
export type Replay =
  | { kind: 'job'; jobId: string; request: JobRequest }
  | { kind: 'batch'; batchId: string; total: number; priority: number };

interface KeyRow {
  fingerprint: string;
  job_id: string | null;
  batch_id: string | null;
  /** The job's request as stored, its metadata apart. */
  request: JobRequest;
  total: number | null;
  priority: number | null;
  age: string | number;
}

/**
 * Reserves `key` for a request whose fingerprint is `print`: null when it is now this request's,
 * what its first request made when that one finished, else a 422 or 409 (domain errors).
 */
export async function reserveKey(k: Knex, tenantId: string, key: string, print: string): Promise<Replay | null> {
  const inserted = await k('idempotency_keys')
    .insert({ tenant_id: tenantId, key, fingerprint: print })
    .onConflict(['tenant_id', 'key'])
    .ignore()
    .returning(['key']);
  if (inserted.length > 0) return null;
  const existing = (await k('idempotency_keys as i')
    .leftJoin('jobs as j', 'j.id', 'i.job_id')
    .leftJoin('batches as b', 'b.id', 'i.batch_id')
    .where({ 'i.tenant_id': tenantId, 'i.key': key })
    .first(
      'i.fingerprint',
      'i.job_id',
      'i.batch_id',
      'j.request',
      'b.total',
      'b.priority',
      k.raw('extract(epoch from now() - i.created_at) AS age'),
    )) as KeyRow | undefined;
  if (!existing) return reserveKey(k, tenantId, key, print); // removed between the two statements
  if (existing.fingerprint !== print) {
    throw new UnprocessableError('idempotency_key_reused', 'This Idempotency-Key was used with another request body.');
  }
  if (existing.job_id) return { kind: 'job', jobId: existing.job_id, request: existing.request };
  if (existing.batch_id) {
    return { kind: 'batch', batchId: existing.batch_id, total: existing.total ?? 0, priority: existing.priority ?? 0 };
  }
  if (Number(existing.age) < IN_FLIGHT_STALE_SECONDS) {
    throw new ConflictError(
      'idempotency_key_in_flight',
      'A request with this Idempotency-Key is still being processed; retry later.',
    );
  }
  await k('idempotency_keys')
    .where({ tenant_id: tenantId, key, fingerprint: print })
    .whereNull('job_id')
    .whereNull('batch_id')
    .del();
  return reserveKey(k, tenantId, key, print);
}

/** The statement that records what the reservation of `key` made, to run with that write. */
export const recordKey = (
  k: Knex | Knex.Transaction,
  tenantId: string,
  key: string,
  made: { job_id: string } | { batch_id: string },
): Knex.QueryBuilder => k('idempotency_keys').where({ tenant_id: tenantId, key }).update(made);

/**
 * Gives a reservation back after its request failed to write, so a retry need not wait for it
 * to go stale. Best effort: a reservation left behind is reusable once stale.
 */
export async function releaseKey(k: Knex, tenantId: string, key: string): Promise<void> {
  await k('idempotency_keys')
    .where({ tenant_id: tenantId, key })
    .whereNull('job_id')
    .whereNull('batch_id')
    .del()
    .catch(() => undefined);
}
