/**
 * Rotating the key-encryption key. Locally AIPROD makes the versions: add_version adds one to the
 * local store (never undone: other processes may already seal with it, and every version stays
 * enabled, so nothing sealed under either stops opening). On Google Cloud, Cloud KMS makes a new
 * primary version itself on the schedule Terraform sets. Either way the sealed values under older
 * versions are then re-wrapped (crypto/reencrypt.ts), as far as the run's deadline allows; what is
 * left continues on the next tick.
 */
import type { Knex } from 'knex';
import type { KeyEncryptionKey } from '../../crypto/envelope';
import type { StoreKek } from '../../crypto/local-kek';
import { reencrypt } from '../../crypto/reencrypt';
import type { RotationTarget, Step } from './runner';

export const KEK = 'key-encryption-key';

/** Whether any sealed value is under another version than the current one. */
export async function reencryptDue(k: Knex, kek: KeyEncryptionKey): Promise<boolean> {
  const report = await reencrypt(k, kek, { dryRun: true });
  return report.tables.some((t) => t.due > 0);
}

export function kekRotation(opts: {
  k: Knex;
  kek: KeyEncryptionKey;
  /** The local store's versions, when AIPROD makes them and this run makes one. */
  addTo?: StoreKek;
}): RotationTarget {
  const steps: Step[] = [];
  if (opts.addTo) {
    const versions = opts.addTo;
    steps.push({
      name: 'add_version',
      async run(ctx) {
        await ctx.saveVersions('previous_versions', { [KEK]: await versions.currentVersion() });
        await ctx.saveVersions('new_versions', { [KEK]: await versions.addVersion() });
      },
      kept: 'values may already be sealed under the new version; every version stays enabled and opens them',
    });
  }
  return {
    name: KEK,
    steps,
    later: {
      steps: [
        {
          name: 'reencrypt',
          async run(ctx) {
            const report = await reencrypt(opts.k, opts.kek, { signal: ctx.signal });
            if (!ctx.record.new_versions[KEK]) await ctx.saveVersions('new_versions', { [KEK]: report.targetVersion });
            const failed = report.tables.reduce((n, t) => n + t.failed, 0);
            if (failed) throw new Error(`${failed} sealed values open under no enabled key version`);
            return report.interrupted ? 'incomplete' : undefined;
          },
        },
      ],
      graceSeconds: null,
    },
  };
}
