/**
 * The secret-rotator's work for one message. Every run first settles what earlier runs left: a
 * rotation whose rotator died (its lease ran out) is rolled back, and a pending one whose grace
 * period is over gets its last steps. Then each secret AIPROD makes is rotated when it is due
 * (its current version is a rotation period old, less a day) and nothing blocks it, one rotation
 * per secret at a time (the claim is a row of secret_rotations); the keys AIPROD cannot rotate are
 * reported once they are that old. A duplicate or late tick finds nothing due and changes nothing;
 * a dry run reports what a run would do and changes nothing.
 */
import type { Knex } from 'knex';
import type { KeyEncryptionKey } from '../../crypto/envelope';
import type { StoreKek } from '../../crypto/local-kek';
import { logger } from '../../log';
import { SecretNotFoundError, type SecretStore } from '../store';
import { databasePasswordRotation, databaseRotationBlocker, PRIMARY_URL } from './database-password';
import { KEK, kekRotation, reencryptDue } from './kek';
import { METRICS_TOKEN, metricsTokenRotation } from './metrics-token';
import type { RotationMessage, RotationOrder } from './orders';
import {
  abandoned,
  byMessage,
  claim,
  duePending,
  lastEnded,
  openRotation,
  resume,
  settle,
  takeOver,
  type RotationRecord,
  type Trigger,
} from './records';
import { abort, runLater, runRotation, type RotationTarget, type RunOutcome, type StepName } from './runner';
import { thirdPartyDue, type DueKey } from './third-party';

export interface RotatorDeps {
  /** The rotator's pool, connected as the database user whose password it rotates. */
  k: Knex;
  store: SecretStore;
  kek: KeyEncryptionKey;
  /** The local store's KEK versions; undefined on Google Cloud, where KMS makes them. */
  localKek?: StoreKek;
  /** The values this process started with: the first versions of an empty local store. */
  configured: { databaseUrl?: string; replicaUrl?: string; metricsToken?: string };
  periodDays: number;
  graceSeconds: number;
  /** Keys the provider issues: reported when due, never rotated. */
  thirdParty: readonly string[];
  failAfter?: StepName;
  /** How long the run may take (under the function's timeout); a re-encryption stops in time. */
  budgetMs?: number;
  now?: () => Date;
}

export interface RotationReport {
  order: RotationOrder['kind'];
  dryRun: boolean;
  rotated: { target: string; outcome: RunOutcome }[];
  /** Pending rotations whose later steps ran. */
  continued: { target: string; outcome: RunOutcome }[];
  /** Rotations whose rotator died, rolled back (or set pending, past their own steps). */
  recovered: string[];
  wouldRotate: string[];
  wouldContinue: string[];
  due: DueKey[];
  skipped: { target: string; reason: string }[];
}

const DAY_MS = 86_400_000;

/** The secrets AIPROD rotates itself, as the secret_rotations rows name them. */
export const ROTATED = [PRIMARY_URL, KEK, METRICS_TOKEN] as const;

interface Candidate {
  /** Why it cannot be rotated by this run, if it cannot. */
  blocked(force: boolean): Promise<string | undefined>;
  due(force: boolean): Promise<boolean>;
  target(force: boolean): Promise<RotationTarget>;
}

/** When the newest enabled version of `secret` was made; undefined when the store has none. */
async function newestAt(store: SecretStore, secret: string): Promise<Date | undefined> {
  try {
    return (await store.listVersions(secret)).find((v) => v.state === 'enabled')?.createdAt;
  } catch (err) {
    if (err instanceof SecretNotFoundError) return undefined;
    throw err;
  }
}

export async function rotateSecrets(deps: RotatorDeps, message: RotationMessage): Promise<RotationReport> {
  const { order } = message;
  const now = deps.now ?? (() => new Date());
  const signal = AbortSignal.timeout(deps.budgetMs ?? 240_000);
  const runner = { k: deps.k, signal, failAfter: deps.failAfter };
  const report: RotationReport = {
    order: order.kind,
    dryRun: order.kind === 'rotate' && order.dryRun,
    rotated: [],
    continued: [],
    recovered: [],
    wouldRotate: [],
    wouldContinue: [],
    due: [],
    skipped: [],
  };
  const periodMs = deps.periodDays * DAY_MS;
  // A day's slack: a tick at the same time of day a period later still finds the secret due.
  const old = (at: Date | undefined) => !at || now().getTime() - at.getTime() >= periodMs - DAY_MS;
  /**
   * Whether a stored credential is due: a period after its last completed rotation, at once after
   * a rolled-back one (whose restored copy is a new version, not a new credential), else by the
   * age of its newest version.
   */
  const storedDue = async (secret: string): Promise<boolean> => {
    const last = await lastEnded(deps.k, secret);
    if (last?.status === 'rolled_back') return true;
    return old(last ? new Date(last.started_at) : await newestAt(deps.store, secret));
  };

  const candidates: Record<(typeof ROTATED)[number], Candidate> = {
    [PRIMARY_URL]: {
      blocked: () => databaseRotationBlocker(deps.k),
      due: async (force) => force || storedDue(PRIMARY_URL),
      target: async () =>
        databasePasswordRotation({
          k: deps.k,
          store: deps.store,
          configured: { primary: deps.configured.databaseUrl, replica: deps.configured.replicaUrl },
          graceSeconds: deps.graceSeconds,
        }),
    },
    [METRICS_TOKEN]: {
      blocked: async () =>
        deps.configured.metricsToken || (await newestAt(deps.store, METRICS_TOKEN))
          ? undefined
          : 'no metrics token is configured (GET /metrics is open locally)',
      due: async (force) => force || storedDue(METRICS_TOKEN),
      target: async () =>
        metricsTokenRotation({
          store: deps.store,
          configured: deps.configured.metricsToken,
          graceSeconds: deps.graceSeconds,
        }),
    },
    [KEK]: {
      blocked: async (force) =>
        force && !deps.localKek
          ? 'Cloud KMS rotates this key on its own schedule; a new primary version is made with gcloud kms keys versions create'
          : undefined,
      due: async (force) =>
        force ||
        (deps.localKek !== undefined && old(await deps.localKek.currentSince())) ||
        (await reencryptDue(deps.k, deps.kek)),
      // Locally a new version when the current one is old (or asked for); then the re-wrap.
      target: async (force) => {
        const rotate = deps.localKek && (force || old(await deps.localKek.currentSince()));
        return kekRotation({ k: deps.k, kek: deps.kek, ...(rotate ? { addTo: deps.localKek } : {}) });
      },
    },
  };

  /** The target a record belongs to, with the steps it went through (for its rollback or its later steps). */
  async function targetOf(record: RotationRecord): Promise<RotationTarget | undefined> {
    if (record.target === KEK) {
      const added = record.steps.some((s) => s.step === 'add_version');
      return kekRotation({ k: deps.k, kek: deps.kek, ...(added ? { addTo: deps.localKek } : {}) });
    }
    const candidate = (candidates as Record<string, Candidate | undefined>)[record.target];
    return candidate?.target(false);
  }

  async function recover(): Promise<void> {
    for (const { id } of await abandoned(deps.k)) {
      const record = await takeOver(deps.k, id);
      const target = record && (await targetOf(record));
      if (!record || !target) continue;
      report.recovered.push(record.target);
      const stopped = new Error('the rotator stopped mid-rotation (its lease ran out)');
      const ownStepsDone = target.steps.every((s) =>
        record.steps.some((e) => e.step === s.name && e.outcome === 'done'),
      );
      if (!ownStepsDone) {
        await abort(runner, target, record, record.step, stopped);
        continue;
      }
      // Rotated already: what is left (later steps) is for the next tick, with nothing to undo.
      await settle(deps.k, record, {
        status: 'pending',
        step: record.step,
        graceSeconds: null,
        error: stopped.message,
      });
      logger().error('secret rotation failed', {
        event: 'secret.rotation_failed',
        target: record.target,
        step: record.step,
        error: stopped.message,
        rolledBack: false,
        pending: true,
      });
    }
  }

  async function continuePending(): Promise<void> {
    for (const pending of await duePending(deps.k)) {
      if (report.dryRun) {
        report.wouldContinue.push(pending.target);
        continue;
      }
      const record = await resume(deps.k, pending.id);
      const target = record && (await targetOf(record));
      if (!record || !target) continue;
      report.continued.push({ target: record.target, outcome: await runLater(runner, target, record) });
    }
  }

  async function rotate(name: (typeof ROTATED)[number], trigger: Trigger, force: boolean): Promise<void> {
    const candidate = candidates[name];
    if (trigger === 'notice' && (await byMessage(deps.k, name, message.messageId))) {
      return void report.skipped.push({ target: name, reason: 'this notice was handled already' });
    }
    if (await openRotation(deps.k, name))
      return void report.skipped.push({ target: name, reason: 'a rotation of it is open' });
    const blocker = await candidate.blocked(force);
    if (blocker) return void report.skipped.push({ target: name, reason: blocker });
    if (!(await candidate.due(force))) return void report.skipped.push({ target: name, reason: 'not due' });
    if (report.dryRun) return void report.wouldRotate.push(name);
    const target = await candidate.target(force);
    const record = await claim(
      deps.k,
      name,
      trigger,
      message.messageId,
      target.steps[0]?.name ?? target.later!.steps[0]!.name,
    );
    if (!record) return void report.skipped.push({ target: name, reason: 'another rotator claimed it' });
    report.rotated.push({ target: name, outcome: await runRotation(runner, target, record) });
  }

  const thirdParty = async (secrets: readonly string[], always = false) => {
    report.due.push(
      ...(await thirdPartyDue(deps.store, secrets, {
        periodDays: deps.periodDays,
        now: now(),
        announce: !report.dryRun,
        always,
      })),
    );
  };

  if (order.kind === 'ignore') {
    logger().info('secret rotation message ignored', { reason: order.reason, messageId: message.messageId });
    return report;
  }
  if (!report.dryRun) await recover();
  await continuePending();
  if (order.kind === 'finish') return report;

  const isOurs = (s: string): s is (typeof ROTATED)[number] => (ROTATED as readonly string[]).includes(s);
  if (order.kind === 'notice') {
    if (isOurs(order.secret)) await rotate(order.secret, 'notice', false);
    else if (deps.thirdParty.includes(order.secret)) await thirdParty([order.secret], true);
    else report.skipped.push({ target: order.secret, reason: 'not a secret this function rotates or watches' });
    return report;
  }
  const only = order.only;
  if (only && !isOurs(only) && !deps.thirdParty.includes(only)) {
    report.skipped.push({ target: only, reason: 'not a secret this function rotates or watches' });
    return report;
  }
  for (const name of ROTATED) if (!only || only === name) await rotate(name, order.trigger, order.force);
  await thirdParty(only ? deps.thirdParty.filter((s) => s === only) : deps.thirdParty);
  return report;
}
