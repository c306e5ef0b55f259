/** `npm start`: the whole system on this machine (see README "Local mode"). */
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
  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: stopping...`);
    stack.stop().then(
      () => process.exit(0),
      (err) => {
        console.error(err);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

main().catch((err) => {
  console.error(`aiprod: could not start: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
