/**
 * The `secret_rotations` table: a rotation claims its secret by inserting its row (at most one
 * open row per secret, by a partial unique index), records each step as it starts and ends, and
 * holds a lease while it works, so a rotator that died mid-way is found and rolled back.
 */
import type { Knex } from 'knex';

export type RotationStatus = 'in_progress' | 'pending' | 'completed' | 'rolled_back';
export type Trigger = 'schedule' | 'notice' | 'manual';

export interface StepEntry {
  step: string;
  outcome: 'started' | 'done' | 'failed' | 'undone' | 'kept';
  at: string;
  detail?: string;
}

export interface RotationRecord {
  id: string;
  target: string;
  trigger: Trigger;
  status: RotationStatus;
  step: string;
  steps: StepEntry[];
  previous_versions: Record<string, string>;
  new_versions: Record<string, string>;
  grace_until: Date | null;
  lease_expires_at: Date | null;
  error: string | null;
  message_id: string | null;
  started_at: Date;
  finished_at: Date | null;
}

/** Longer than the secret-rotator's function timeout: a live rotator never loses its claim. */
export const LEASE_SECONDS = 600;

const UNIQUE_VIOLATION = '23505';

/** Claims `target` for a new rotation; undefined when another one of it is open. */
export async function claim(
  k: Knex,
  target: string,
  trigger: Trigger,
  messageId: string,
  firstStep: string,
): Promise<RotationRecord | undefined> {
  try {
    const [row] = await k('secret_rotations')
      .insert({
        target,
        trigger,
        status: 'in_progress',
        step: firstStep,
        message_id: messageId,
        lease_expires_at: k.raw('now() + make_interval(secs => ?)', [LEASE_SECONDS]),
      })
      .returning('*');
    return row as RotationRecord;
  } catch (err) {
    if ((err as { code?: string }).code === UNIQUE_VIOLATION) return undefined;
    throw err;
  }
}

/** Takes over a rotation whose rotator's lease ran out, for rolling it back; undefined if someone else did. */
export async function takeOver(k: Knex, id: string): Promise<RotationRecord | undefined> {
  const [row] = await k('secret_rotations')
    .where({ id, status: 'in_progress' })
    .where('lease_expires_at', '<', k.fn.now())
    .update({ lease_expires_at: k.raw('now() + make_interval(secs => ?)', [LEASE_SECONDS]), updated_at: k.fn.now() })
    .returning('*');
  return row as RotationRecord | undefined;
}

/** Claims a pending rotation's next step for this run (pending -> in_progress). */
export async function resume(k: Knex, id: string): Promise<RotationRecord | undefined> {
  const [row] = await k('secret_rotations')
    .where({ id, status: 'pending' })
    .where((w) => {
      w.whereNull('grace_until').orWhere('grace_until', '<=', k.fn.now());
    })
    .update({
      status: 'in_progress',
      lease_expires_at: k.raw('now() + make_interval(secs => ?)', [LEASE_SECONDS]),
      updated_at: k.fn.now(),
    })
    .returning('*');
  return row as RotationRecord | undefined;
}

export async function appendStep(k: Knex, record: RotationRecord, entry: Omit<StepEntry, 'at'>): Promise<void> {
  const full: StepEntry = { ...entry, at: new Date().toISOString() };
  record.steps.push(full);
  record.step = entry.step;
  await k('secret_rotations')
    .where({ id: record.id })
    .update({
      step: entry.step,
      steps: k.raw('steps || ?::jsonb', [JSON.stringify([full])]),
      updated_at: k.fn.now(),
    });
}

export async function saveVersions(
  k: Knex,
  record: RotationRecord,
  kind: 'previous_versions' | 'new_versions',
  versions: Record<string, string>,
): Promise<void> {
  record[kind] = { ...record[kind], ...versions };
  await k('secret_rotations')
    .where({ id: record.id })
    .update({ [kind]: JSON.stringify(record[kind]), updated_at: k.fn.now() });
}

/** Ends this run of the rotation: done, rolled back, or left pending at `step` (after `graceSeconds`). */
export async function settle(
  k: Knex,
  record: RotationRecord,
  outcome:
    | { status: 'completed' | 'rolled_back'; error?: string }
    | { status: 'pending'; step: string; graceSeconds: number | null; error?: string },
): Promise<void> {
  const pending = outcome.status === 'pending';
  // A pending step waits out its grace period, or runs on the next tick; an ended rotation keeps its own.
  const graceUntil = !pending
    ? record.grace_until
    : outcome.graceSeconds === null
      ? null
      : k.raw('now() + make_interval(secs => ?)', [outcome.graceSeconds]);
  await k('secret_rotations')
    .where({ id: record.id })
    .update({
      status: outcome.status,
      ...(pending ? { step: outcome.step } : {}),
      grace_until: graceUntil,
      lease_expires_at: null,
      error: outcome.error ?? null,
      finished_at: pending ? null : k.fn.now(),
      updated_at: k.fn.now(),
    });
  record.status = outcome.status;
}

/** A rollback that failed part-way: the lease is given up at once, so the next tick tries it again. */
export async function releaseForRetry(k: Knex, record: RotationRecord, error: string): Promise<void> {
  await k('secret_rotations')
    .where({ id: record.id })
    .update({ lease_expires_at: k.fn.now(), error, updated_at: k.fn.now() });
}

export const abandoned = (k: Knex): Promise<{ id: string }[]> =>
  k('secret_rotations').where({ status: 'in_progress' }).where('lease_expires_at', '<', k.fn.now()).select('id');

export const duePending = (k: Knex): Promise<RotationRecord[]> =>
  k('secret_rotations')
    .where({ status: 'pending' })
    .where((w) => {
      w.whereNull('grace_until').orWhere('grace_until', '<=', k.fn.now());
    })
    .orderBy('started_at')
    .select('*');

export const openRotation = (k: Knex, target: string): Promise<RotationRecord | undefined> =>
  k('secret_rotations').where({ target }).whereIn('status', ['in_progress', 'pending']).first();

/** The newest rotation of `target` that ended (completed or rolled back). */
export const lastEnded = (k: Knex, target: string): Promise<RotationRecord | undefined> =>
  k('secret_rotations')
    .where({ target })
    .whereIn('status', ['completed', 'rolled_back'])
    .orderBy('started_at', 'desc')
    .first();

export const byMessage = (k: Knex, target: string, messageId: string): Promise<RotationRecord | undefined> =>
  k('secret_rotations').where({ target, message_id: messageId }).first();
