/**
 * Accepting a batch: every item checked first (one 422 lists every bad item by index and field),
 * then the batch, its jobs and their pipeline-jobs messages in one transaction of three bulk
 * statements (the local bus takes its rows in it too), published after commit; with
 * `Idempotency-Key` semantics (jobs/idempotency.ts).
 */
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import * as z from 'zod';
import type { Principal } from '../auth/api-keys';
import { config } from '../config';
import { ValidationError, type FieldError } from '../errors';
import { enqueueMany } from '../events/outbox';
import { announce } from '../jobs/complete';
import { JOB_LIMITS, PRIORITIES, priorityName, type Priority } from '../jobs/limits';
import { keyInFlight, recordKey, releaseKey, reserveKey, reusedKey, type Reservation } from '../jobs/idempotency';
import {
  fingerprint,
  fingerprintOf,
  metadataSchema,
  parseJobRequest,
  splitMetadata,
  type JobRequest,
} from '../jobs/request';
import { checkSubmittable, uploadInputOf } from '../jobs/submit';
import { checkUploadsRecorded } from '../uploads/ownership';
import { PIPELINE_JOBS, type PipelineJobMessage } from '../jobs/topics';
import type { BatchAcceptedView } from '../openapi/schemas/batches';
import { transport } from '../platform';
import { fieldErrors } from '../validation/zod-errors';

/** What POST /pipeline/batch answers (shared/openapi/schemas/batches.ts). */
export type AcceptedBatch = BatchAcceptedView;

const MIN_ITEMS = 2;

/** The batch around its items, which parseBatch then checks one by one as job requests. */
export function batchEnvelope(maxItems: number) {
  return z
    .object({
      items: z
        .array(z.unknown(), { error: 'items must be an array of job requests.' })
        .min(MIN_ITEMS, `items must hold at least ${MIN_ITEMS} job requests.`)
        .max(maxItems, `items may hold at most ${maxItems} job requests on this tier.`),
      priority: z
        .enum(Object.keys(PRIORITIES) as [Priority, ...Priority[]], { error: 'priority must be low, normal or high.' })
        .default('normal'),
      metadata: metadataSchema().optional(),
    })
    .strict();
}

type Envelope = z.infer<ReturnType<typeof batchEnvelope>>;

/** A refusal's own code and message, as one job's submit answers it (`validation_failed` for malformed fields). */
interface Refusal {
  code: string;
  message: string;
}

/**
 * Every item's problems, each field named `items[<index>].<field>`, and the refusals they came
 * in: when all are the same (every item refused with `voice_too_long`, say), the batch's problem
 * carries that code and message, as a single job's would.
 */
function parseItems(
  principal: Principal,
  items: unknown[],
): { requests: JobRequest[]; errors: FieldError[]; refusals: Refusal[] } {
  const requests: JobRequest[] = [];
  const errors: FieldError[] = [];
  const refusals: Refusal[] = [];
  // What a malformed item is refused with: the default code and message of a ValidationError.
  const malformed: Refusal = new ValidationError([]);
  items.forEach((item, index) => {
    const at = (field: string): string => `items[${index}]${field === '(body)' ? '' : `.${field}`}`;
    if (item === null || typeof item !== 'object' || Array.isArray(item)) {
      errors.push({ field: at('(body)'), code: 'invalid_type', message: 'Each item must be a job request object.' });
      refusals.push(malformed);
      return;
    }
    const parsed = parseJobRequest(item as Record<string, unknown>);
    if (!parsed.ok) {
      errors.push(...parsed.errors.map((e) => ({ ...e, field: at(e.field) })));
      refusals.push(malformed);
      return;
    }
    try {
      checkSubmittable(principal, parsed.request);
      requests.push(parsed.request);
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      errors.push(...err.errors.map((e) => ({ ...e, field: at(e.field) })));
      refusals.push(err);
    }
  });
  return { requests, errors, refusals };
}

export function parseBatch(principal: Principal, body: Record<string, unknown>): Envelope & { requests: JobRequest[] } {
  const parsed = batchEnvelope(JOB_LIMITS[principal.tier].maxBatchSize).safeParse(body);
  if (!parsed.success) throw new ValidationError(fieldErrors(parsed.error, body));
  const { requests, errors, refusals } = parseItems(principal, parsed.data.items);
  if (errors.length > 0) {
    // Only when the message fits every item too: unknown voices in two languages name two lists.
    const [first] = refusals;
    const one = refusals.every((r) => r.code === first!.code && r.message === first!.message) ? first : undefined;
    throw one ? new ValidationError(errors, one.code, one.message) : new ValidationError(errors);
  }
  return { ...parsed.data, requests };
}

/**
 * The same batch (envelope and items, each item as a job's fingerprint sees it) has the same
 * fingerprint; never a job's, so a job's Idempotency-Key sent with a batch is another body.
 */
const batchFingerprint = (batch: Envelope & { requests: JobRequest[] }): string =>
  fingerprintOf({
    batch: { priority: batch.priority, metadata: batch.metadata ?? {} },
    items: batch.requests.map(fingerprint),
  });

export async function submitBatch(
  k: Knex,
  principal: Principal,
  body: Record<string, unknown>,
  idempotencyKey?: string,
): Promise<AcceptedBatch> {
  const batch = parseBatch(principal, body);
  await checkUploadsRecorded(
    k,
    principal.tenantId,
    config().AIPROD_UPLOADS_BUCKET,
    batch.requests.map((r, i) => {
      const input = uploadInputOf(r);
      const at = (field: string): string => `items[${i}].${field}`;
      const video = input.video && { tracks: input.video.tracks.map((t) => ({ ...t, field: at(t.field) })) };
      return { ...input, field: at(input.field), ...(video ? { video } : {}) };
    }),
  );
  let reservation: Reservation | undefined;
  if (idempotencyKey) {
    const held = await reserveKey(k, principal.tenantId, idempotencyKey, batchFingerprint(batch));
    if (held.kind === 'job') throw reusedKey();
    if (held.kind === 'batch') {
      return { batch_id: held.batchId, status: 'PENDING', total: held.total, priority: priorityName(held.priority) };
    }
    reservation = held;
  }
  const batchId = randomUUID();
  const priority = PRIORITIES[batch.priority];
  const bus = transport();
  const jobs = batch.requests.map((item, index) => {
    const { request, metadata } = splitMetadata(item);
    return {
      id: randomUUID(),
      tenant_id: principal.tenantId,
      batch_id: batchId,
      batch_index: index,
      priority,
      status: 'PENDING',
      recipe: item.recipe,
      request,
      metadata: JSON.stringify(metadata),
    };
  });
  const write = async (trx: Knex.Transaction) => {
    // First, so the key's row is locked from here to commit: a retry taking a stale key over
    // waits, then finds the batch. Nothing to record once one has: this request gives up.
    if (reservation && (await recordKey(trx, reservation, { batch_id: batchId })) === 0) throw keyInFlight();
    await trx('batches').insert({
      id: batchId,
      tenant_id: principal.tenantId,
      priority,
      metadata: JSON.stringify(batch.metadata ?? {}),
      total: jobs.length,
    });
    await trx('jobs').insert(jobs);
    return enqueueMany(
      trx,
      bus,
      PIPELINE_JOBS,
      jobs.map((j) => {
        const message: PipelineJobMessage = { job_id: j.id };
        return { payload: message, attributes: { tenant_id: principal.tenantId, batch_id: batchId } };
      }),
    );
  };
  let queued: Awaited<ReturnType<typeof write>>;
  try {
    queued = await k.transaction(write);
  } catch (err) {
    if (reservation) await releaseKey(k, reservation);
    throw err;
  }
  // The batch is durable now; a failed publish is retried by the sweeper, so the partner still gets 202.
  await announce(k, queued);
  return { batch_id: batchId, status: 'PENDING', total: jobs.length, priority: batch.priority };
}
