/** `npm start`: the whole system on this machine (see README "Local mode"). */
import { installShutdown, onShutdown } from '../shared/lifecycle/shutdown';
import { startStack } from '../shared/local/stack';
import { loadFunction } from '../functions';
import { manifest } from '../shared/platform/manifest';

async function main(): Promise<void> {
  const stack = await startStack({ loadFunction });
  const port = new URL(stack.url).port;
  console.log(
    `AIPROD is ready on http://localhost:${port} (${manifest.length} functions; data in ${process.env.AIPROD_DATA_DIR})`,
  );
  console.log(`  try: curl http://localhost:${port}/health`);
  // Ctrl-C and SIGTERM run the deployed functions' shutdown, the stack's own parts included.
  onShutdown('stop-accepting', () =>
    console.log('\nstopping: finishing the requests in flight, releasing running jobs...'),
  );
  installShutdown();
}

main().catch((err) => {
  console.error(`aiprod: could not start: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
