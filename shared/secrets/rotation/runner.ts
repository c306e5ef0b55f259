/**
 * Runs a rotation as a list of steps, each recorded as it starts and ends. When one fails, the
 * steps already started are undone in reverse order (each undo works from what the record holds,
 * so a rotation whose rotator died is undone the same way by the next one), the rotation ends
 * `rolled_back`, and a `secret.rotation_failed` event names the secret and the step, never a value.
 * What a rotation leaves for later (disabling the previous versions once the grace period is over,
 * the rest of a re-encryption) runs on a later tick; it undoes nothing when it fails: the new
 * credential already works, so it stays pending and the next tick tries again.
 */
import type { Knex } from 'knex';
import type { Config } from '../../config';
import { logger } from '../../log';
import { appendStep, releaseForRetry, saveVersions, settle, type RotationRecord } from './records';

export type StepName = NonNullable<Config['AIPROD_ROTATION_FAIL_STEP']>;

export interface StepContext {
  k: Knex;
  record: RotationRecord;
  saveVersions(kind: 'previous_versions' | 'new_versions', versions: Record<string, string>): Promise<void>;
  /** Fires at the run's deadline: a long step (re-encryption) stops in time and says so. */
  signal: AbortSignal;
}

export interface Step {
  name: StepName;
  /** 'incomplete': stopped at the deadline, to continue on a later tick. */
  run(ctx: StepContext): Promise<void | 'incomplete'>;
  /** Undoes what run did, from what the record holds; safe to run twice. Without one, the step's effect is kept. */
  undo?(ctx: StepContext): Promise<void>;
  /** For a step whose effect has no undo: why it is kept (recorded in the rollback). */
  kept?: string;
}

export interface RotationTarget {
  /** The secret it rotates, as recorded: database-url, key-encryption-key, metrics-token. */
  name: string;
  steps: Step[];
  /** What is left for later ticks, once `graceSeconds` have passed (null: the next tick, or now). */
  later?: { steps: Step[]; graceSeconds: number | null };
}

export interface RunnerDeps {
  k: Knex;
  signal: AbortSignal;
  /** Local test hook (AIPROD_ROTATION_FAIL_STEP): the named step throws once its work is done. */
  failAfter?: StepName;
}

export class InjectedFailure extends Error {
  override readonly name = 'InjectedFailure';
}

/** A rollback that did not finish: the rotation is left for the next tick to undo, and the message retried. */
export class RollbackIncomplete extends Error {
  override readonly name = 'RollbackIncomplete';
}

export type RunOutcome = 'completed' | 'pending' | 'rolled_back';

const reason = (err: unknown): string => (err instanceof Error ? `${err.name}: ${err.message}` : String(err));

function context(deps: RunnerDeps, record: RotationRecord): StepContext {
  return {
    k: deps.k,
    record,
    signal: deps.signal,
    saveVersions: (kind, versions) => saveVersions(deps.k, record, kind, versions),
  };
}

function failed(target: string, step: string, err: unknown, extra: Record<string, unknown>): void {
  logger().error('secret rotation failed', {
    event: 'secret.rotation_failed',
    target,
    step,
    error: reason(err),
    ...extra,
  });
}

async function runStep(deps: RunnerDeps, ctx: StepContext, step: Step): Promise<void | 'incomplete'> {
  await appendStep(deps.k, ctx.record, { step: step.name, outcome: 'started' });
  const result = await step.run(ctx);
  if (deps.failAfter === step.name) throw new InjectedFailure(`injected failure after ${step.name}`);
  await appendStep(
    deps.k,
    ctx.record,
    result === 'incomplete'
      ? { step: step.name, outcome: 'started', detail: 'stopped at the deadline; continues on a later tick' }
      : { step: step.name, outcome: 'done' },
  );
  return result;
}

/** Undoes, newest first, every step of `target` the record shows as started. */
export async function rollBack(deps: RunnerDeps, target: RotationTarget, record: RotationRecord): Promise<void> {
  const ctx = context(deps, record);
  const started = new Set(record.steps.filter((s) => s.outcome === 'started').map((s) => s.step));
  const undone = new Set(record.steps.filter((s) => s.outcome === 'undone' || s.outcome === 'kept').map((s) => s.step));
  for (const step of [...target.steps].reverse()) {
    // A step with neither an undo nor a kept effect (a check) has nothing to go back on.
    if (!started.has(step.name) || undone.has(step.name) || !(step.undo || step.kept)) continue;
    if (step.undo) {
      await step.undo(ctx);
      await appendStep(deps.k, record, { step: step.name, outcome: 'undone' });
    } else {
      await appendStep(deps.k, record, {
        step: step.name,
        outcome: 'kept',
        ...(step.kept ? { detail: step.kept } : {}),
      });
    }
  }
}

/** Rolls back a rotation and settles it; when the rollback itself fails, leaves it for the next tick. */
export async function abort(
  deps: RunnerDeps,
  target: RotationTarget,
  record: RotationRecord,
  step: string,
  err: unknown,
): Promise<'rolled_back'> {
  try {
    await rollBack(deps, target, record);
  } catch (undoErr) {
    await releaseForRetry(deps.k, record, `${reason(err)}; rollback: ${reason(undoErr)}`);
    failed(target.name, step, err, { rolledBack: false, rollbackError: reason(undoErr) });
    throw new RollbackIncomplete(`rolling back the rotation of ${target.name} failed: ${reason(undoErr)}`);
  }
  await settle(deps.k, record, { status: 'rolled_back', error: reason(err) });
  failed(target.name, step, err, { rolledBack: true });
  return 'rolled_back';
}

/** The rotation's own steps, then what is left for later (now, when it needs no grace period). */
export async function runRotation(
  deps: RunnerDeps,
  target: RotationTarget,
  record: RotationRecord,
): Promise<RunOutcome> {
  const ctx = context(deps, record);
  for (const step of target.steps) {
    try {
      await runStep(deps, ctx, step);
    } catch (err) {
      await appendStep(deps.k, record, { step: step.name, outcome: 'failed', detail: reason(err) });
      return abort(deps, target, record, step.name, err);
    }
  }
  const later = target.later;
  if (!later?.steps.length) {
    await settle(deps.k, record, { status: 'completed' });
    return 'completed';
  }
  if (later.graceSeconds !== null) {
    await settle(deps.k, record, { status: 'pending', step: later.steps[0]!.name, graceSeconds: later.graceSeconds });
    return 'pending';
  }
  return runLater(deps, target, record);
}

/** The steps left for later, from the one the record is pending at. */
export async function runLater(deps: RunnerDeps, target: RotationTarget, record: RotationRecord): Promise<RunOutcome> {
  const steps = target.later?.steps ?? [];
  const ctx = context(deps, record);
  const from = Math.max(
    0,
    steps.findIndex((s) => s.name === record.step),
  );
  for (const step of steps.slice(from)) {
    try {
      if ((await runStep(deps, ctx, step)) === 'incomplete') {
        await settle(deps.k, record, { status: 'pending', step: step.name, graceSeconds: null });
        return 'pending';
      }
    } catch (err) {
      await appendStep(deps.k, record, { step: step.name, outcome: 'failed', detail: reason(err) });
      await settle(deps.k, record, { status: 'pending', step: step.name, graceSeconds: null, error: reason(err) });
      failed(target.name, step.name, err, { rolledBack: false, pending: true });
      return 'pending';
    }
  }
  await settle(deps.k, record, { status: 'completed' });
  return 'completed';
}
