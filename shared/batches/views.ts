/** What a partner sees of a batch. Another tenant's batch is indistinguishable from a missing one. */
import type { Knex } from 'knex';
import { NotFoundError } from '../errors';
import { priorityName } from '../jobs/limits';
import type { JobMetadata } from '../jobs/request';
import type { JobStatus } from '../jobs/views';
import type { BatchView } from '../openapi/schemas/batches';

export type BatchStatus = 'PENDING' | 'PROCESSING' | 'COMPLETED' | 'PARTIAL_FAILURE' | 'CANCELLED';

export interface BatchRow {
  id: string;
  tenant_id: string;
  priority: number;
  metadata: JobMetadata;
  total: number;
  created_at: Date;
  cancelled_at: Date | null;
  completed_at: Date | null;
}

export type StatusCounts = Record<JobStatus, number>;

export interface BatchState {
  batch: BatchRow;
  counts: StatusCounts;
  /** 0 to 100: every ended job counts whole, a running one by its own progress. */
  progress: number;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export async function findBatch(k: Knex, tenantId: string, id: string): Promise<BatchRow> {
  if (!UUID.test(id)) throw new NotFoundError('batch');
  const row = await k<BatchRow>('batches').where({ id, tenant_id: tenantId }).first();
  if (!row) throw new NotFoundError('batch');
  return row;
}

/** The batch with its jobs counted by status, in one statement over the batch's index. */
export async function batchState(k: Knex, batch: BatchRow): Promise<BatchState> {
  const rows: { status: JobStatus; n: string; progress: string }[] = (
    await k.raw(
      `SELECT status, count(*) AS n,
              sum(CASE WHEN status IN ('PENDING', 'PROCESSING') THEN progress ELSE 100 END) AS progress
       FROM jobs WHERE batch_id = ? GROUP BY status`,
      [batch.id],
    )
  ).rows;
  const counts: StatusCounts = { PENDING: 0, PROCESSING: 0, COMPLETED: 0, FAILED: 0, CANCELLED: 0 };
  let points = 0;
  for (const r of rows) {
    counts[r.status] = Number(r.n);
    points += Number(r.progress);
  }
  return { batch, counts, progress: batch.total ? Math.floor(points / batch.total) : 100 };
}

export function batchStatus({ batch, counts }: BatchState): BatchStatus {
  if (counts.PENDING + counts.PROCESSING > 0) {
    return counts.PENDING === batch.total ? 'PENDING' : 'PROCESSING';
  }
  if (batch.cancelled_at || counts.CANCELLED === batch.total) return 'CANCELLED';
  return counts.COMPLETED === batch.total ? 'COMPLETED' : 'PARTIAL_FAILURE';
}

const iso = (d: Date | null): string | null => (d ? new Date(d).toISOString() : null);

/** The documented shape (shared/openapi/schemas/batches.ts). */
export function batchView(state: BatchState): BatchView {
  const { batch, counts } = state;
  return {
    batch_id: batch.id,
    status: batchStatus(state),
    priority: priorityName(batch.priority),
    total: batch.total,
    counts,
    progress: batchStatus(state) === 'COMPLETED' ? 100 : state.progress,
    metadata: batch.metadata ?? {},
    created_at: new Date(batch.created_at).toISOString(),
    completed_at: iso(batch.completed_at),
    cancelled_at: iso(batch.cancelled_at),
  };
}
