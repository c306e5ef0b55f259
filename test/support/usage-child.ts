/**
 * An instance that has metered calls and not flushed them, in its own process, so a test can stop
 * it as Cloud Run does (SIGTERM) or kill it. Arguments: the tenant id, how many calls to record,
 * and `framework` to answer SIGTERM as the functions-framework does (an immediate process.exit()).
 * Prints `ready` once the calls are recorded, then idles until it is stopped.
 */
import { createServer } from 'node:http';
import { dirname, join } from 'node:path';
import { recordCall } from '../../shared/usage/meter';

const [tenantId, calls, mode] = process.argv.slice(2);

for (let i = 0; i < Number(calls); i++) {
  recordCall({ tenantId: tenantId!, tenantName: 'child', tier: 'free', keyId: 'k' }, 'POST /pipeline/run');
}

if (mode === 'framework') {
  // The framework's own handler (its package's exports map hides the module).
  const { ErrorHandler } = require(
    join(dirname(require.resolve('@google-cloud/functions-framework')), 'invoker.js'),
  ) as { ErrorHandler: new (server: unknown) => { register(): void } };
  new ErrorHandler(createServer()).register();
}

setInterval(() => undefined, 60_000);
process.stdout.write('ready\n');
