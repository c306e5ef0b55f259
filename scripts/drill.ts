/**
 * `npm run drill -- restore [--history <jobs>] [--waiting <jobs>] [--data-dir <dir>] [--pg-bin <dir>] [--keep]`
 *
 * A disaster-recovery drill on the local stack (scripts/drill/restore.ts): seed, dump, drop,
 * restore into a new database, serve from it, check it table by table and watch the waiting jobs
 * complete, timing every phase. Prints the phases and the checks; exits 1 when a check fails or
 * the drill cannot finish, 2 on bad usage.
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { checksTable, phasesTable } from './drill/report';
import { runRestoreDrill } from './drill/restore';

const USAGE =
  'usage: npm run drill -- restore [--history <jobs>] [--waiting <jobs>] [--data-dir <dir>] [--pg-bin <dir>] [--keep]';

function usage(message: string): never {
  console.error(`drill: ${message}\n${USAGE}`);
  process.exit(2);
}

function count(value: string | undefined, fallback: number, name: string, min: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > 1_000_000)
    usage(`--${name} must be a whole number from ${min} to 1000000`);
  return n;
}

async function main(): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({
      allowPositionals: true,
      options: {
        history: { type: 'string' },
        waiting: { type: 'string' },
        'data-dir': { type: 'string' },
        'pg-bin': { type: 'string' },
        keep: { type: 'boolean' },
      },
    });
  } catch (err) {
    usage((err as Error).message);
  }
  const { values, positionals } = parsed;
  if (positionals.length !== 1 || positionals[0] !== 'restore') usage('the one drill is `restore`');
  const options = {
    history: count(values.history, 100_000, 'history', 0),
    waiting: count(values.waiting, 4, 'waiting', 1),
    dataDir: values['data-dir'] ?? join(process.env.AIPROD_DATA_DIR ?? '.aiprod', 'drill'),
    pgBin: values['pg-bin'],
    keep: values.keep ?? false,
  };
  console.log(
    `restore drill: ${options.history} history jobs, ${options.waiting} waiting; data in ${options.dataDir}` +
      (process.env.DATABASE_URL ? `, databases aiprod_drill_* on ${new URL(process.env.DATABASE_URL).host}` : ''),
  );
  const result = await runRestoreDrill(options);
  console.log(
    `\n${phasesTable(result.phases, result.recoverySeconds === undefined ? undefined : { serving: result.recoverySeconds, resumed: result.resumedSeconds })}`,
  );
  if (result.checks.length > 0) console.log(`\n${checksTable(result.checks)}`);
  for (const note of result.notes) console.log(`\n${note}`);
  if (result.ok) {
    console.log(
      `\nPASS: serving again ${result.recoverySeconds!.toFixed(1)} s after the drop; the waiting jobs completed ${result.resumedSeconds!.toFixed(1)} s after it`,
    );
  } else {
    console.log('\nFAIL: see the phases and checks above');
    process.exitCode = 1;
  }
}

main().catch((err) => {
  console.error(`drill: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
