/**
 * Rotating the metrics token (the scraper's Bearer token for GET /metrics): a new random version
 * of `metrics-token`, checked to be what the store now answers. The metrics function accepts the
 * newest version and the one before while that one is enabled, so the scraper has the grace period
 * to read the new one; then disable_previous ends the old token. Undone, the old token is the
 * newest enabled version again.
 */
import type { SecretStore } from '../store';
import type { RotationTarget } from './runner';
import { currentOrSeed, disablePrevious, randomCredential, restorePrevious } from './versions';

export const METRICS_TOKEN = 'metrics-token';

export function metricsTokenRotation(opts: {
  store: SecretStore;
  /** The token this process was started with: the first version of an empty local store. */
  configured?: string;
  graceSeconds: number;
}): RotationTarget {
  const { store } = opts;
  return {
    name: METRICS_TOKEN,
    steps: [
      {
        name: 'add_version',
        async run(ctx) {
          const current = await currentOrSeed(store, METRICS_TOKEN, opts.configured);
          await ctx.saveVersions('previous_versions', { [METRICS_TOKEN]: current.version });
          // 48 letters and digits, as Terraform makes the first one.
          const added = await store.addVersion(METRICS_TOKEN, randomCredential(48));
          await ctx.saveVersions('new_versions', { [METRICS_TOKEN]: added.version });
        },
        async undo(ctx) {
          const previous = ctx.record.previous_versions[METRICS_TOKEN];
          if (previous) await restorePrevious(store, METRICS_TOKEN, previous);
        },
      },
      {
        name: 'verify',
        async run(ctx) {
          const latest = await store.latest(METRICS_TOKEN);
          if (latest.version !== ctx.record.new_versions[METRICS_TOKEN]) {
            throw new Error(`the store answers version ${latest.version} of metrics-token, not the one just added`);
          }
        },
      },
    ],
    later: {
      steps: [{ name: 'disable_previous', run: (ctx) => disablePrevious(store, ctx.record.previous_versions) }],
      graceSeconds: opts.graceSeconds,
    },
  };
}
