/**
 * The local stack as the tests run it: every function of the manifest, a free port, the test's
 * data dir, no maintenance tick unless asked for, and short bus backoffs, so that a retried
 * delivery comes within a second or two.
 */
import { loadFunction } from '../../functions';
import { startStack, type Stack } from '../../shared/local/stack';
import type { TestEnv } from './database';

export function startTestStack(env: TestEnv, opts: { maintenanceSeconds?: number } = {}): Promise<Stack> {
  return startStack({
    loadFunction,
    port: 0,
    dataDir: env.dataDir,
    maintenanceSeconds: opts.maintenanceSeconds ?? 0,
    subscriptionOverrides: { minBackoffSeconds: 1, maxBackoffSeconds: 2 },
  });
}
