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

/**
 * This request's hold on a key. `at`, the reservation's own time to the microsecond, tells it
 * from a later one by a retry that took the key over once this one was stale.
 */
export interface Reservation {
  kind: 'reserved';
  tenantId: string;
  key: string;
  at: string;
}

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
 * Reserves `key` for a request whose fingerprint is `print`: the reservation when it is now this
 * request's, what its first request made when that one finished, else a 422 or 409 (domain errors).
 */
export async function reserveKey(k: Knex, tenantId: string, key: string, print: string): Promise<Reservation | Replay> {
  const [inserted] = (await k('idempotency_keys')
    .insert({ tenant_id: tenantId, key, fingerprint: print })
    .onConflict(['tenant_id', 'key'])
    .ignore()
    .returning(k.raw('created_at::text AS at'))) as { at: string }[];
  if (inserted) return { kind: 'reserved', tenantId, key, at: inserted.at };
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
  if (existing.fingerprint !== print) throw reusedKey();
  if (existing.job_id) return { kind: 'job', jobId: existing.job_id, request: existing.request };
  if (existing.batch_id) {
    return { kind: 'batch', batchId: existing.batch_id, total: existing.total ?? 0, priority: existing.priority ?? 0 };
  }
  if (Number(existing.age) < IN_FLIGHT_STALE_SECONDS) throw keyInFlight();
  await k('idempotency_keys')
    .where({ tenant_id: tenantId, key, fingerprint: print })
    .whereNull('job_id')
    .whereNull('batch_id')
    .del();
  return reserveKey(k, tenantId, key, print);
}

/** The key row while it is still this reservation's: not taken over, nothing recorded yet. */
const held = (k: Knex | Knex.Transaction, r: Reservation): Knex.QueryBuilder =>
  k('idempotency_keys')
    .where({ tenant_id: r.tenantId, key: r.key })
    .whereRaw('created_at = ?::timestamptz', [r.at])
    .whereNull('job_id')
    .whereNull('batch_id');

/**
 * The statement that records what the reservation made, to run in that write's statement or
 * transaction; it changes no row once a retry has taken the key over.
 */
export const recordKey = (
  k: Knex | Knex.Transaction,
  r: Reservation,
  made: { job_id: string } | { batch_id: string },
): Knex.QueryBuilder => held(k, r).update(made);

/**
 * Gives a reservation back after its request failed to write, so a retry need not wait for it
 * to go stale; never a retry's own. Best effort: a reservation left behind is reusable once stale.
 */
export async function releaseKey(k: Knex, r: Reservation): Promise<void> {
  await held(k, r)
    .del()
    .catch(() => undefined);
}

/** Another request holds the key: the first one still writing, or a retry that took it over. */
export const keyInFlight = (): ConflictError =>
  new ConflictError(
    'idempotency_key_in_flight',
    'A request with this Idempotency-Key is still being processed; retry later.',
  );

/** The key was used with another body (or, for a batch's key, by a job: another body too). */
export const reusedKey = (): UnprocessableError =>
  new UnprocessableError('idempotency_key_reused', 'This Idempotency-Key was used with another request body.');
