/**
 * `npm run reencrypt -- [--dry-run] [--batch-size <n>]`: moves every sealed value to the current
 * key-encryption key version (shared/crypto/reencrypt.ts), against the database `npm start` uses
 * (embedded or DATABASE_URL) with the KEK the configuration selects (the local store's versions,
 * or on Google Cloud AIPROD_MODE=gcp with AIPROD_KMS_KEY, and KEY_ENCRYPTION_KEY for rows sealed
 * before KMS). Ctrl-C stops after the batch in progress; running it again continues from there.
 * Exits 0 when every value is at the current version, 1 when some could not be opened, 2 on bad
 * usage, 130 when interrupted.
 */
import { parseArgs } from 'node:util';
import { reencrypt, type TableReport } from '../shared/crypto/reencrypt';
import { keyEncryptionKey } from '../shared/platform';
import { withDatabase } from './with-database';

const USAGE = 'usage: npm run reencrypt -- [--dry-run] [--batch-size <1-10000>]';

function fail(message: string): never {
  console.error(`reencrypt: ${message}\n${USAGE}`);
  process.exit(2);
}

const line = (t: TableReport): string =>
  `${t.table}: ${t.rewrapped} re-wrapped, ${t.failed} failed${t.resumedAfter ? ` (resumed after ${t.resumedAfter})` : ''}`;

async function main(): Promise<void> {
  let values: { 'dry-run'?: boolean; 'batch-size'?: string };
  try {
    ({ values } = parseArgs({ options: { 'dry-run': { type: 'boolean' }, 'batch-size': { type: 'string' } } }));
  } catch (err) {
    fail((err as Error).message);
  }
  const batchSize = Number(values['batch-size'] ?? 100);
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10_000) fail('--batch-size must be 1 to 10000');

  const stop = new AbortController();
  process.once('SIGINT', () => {
    console.error('reencrypt: stopping after the batch in progress');
    stop.abort();
  });

  const report = await withDatabase((k) =>
    reencrypt(k, keyEncryptionKey(), {
      batchSize,
      dryRun: values['dry-run'],
      signal: stop.signal,
      onBatch: (t) => console.log(line(t)),
    }),
  );

  console.log(`current key-encryption key version: ${report.targetVersion}`);
  if (report.dryRun) {
    for (const t of report.tables) {
      const versions = Object.entries(t.byVersion ?? {}).map(([v, n]) => `${n} under ${v}`);
      console.log(`${t.table}: ${t.due} rows to re-wrap${versions.length ? ` (${versions.join(', ')})` : ''}`);
    }
    return;
  }
  for (const t of report.tables) console.log(line(t));
  if (report.interrupted) {
    console.error('reencrypt: interrupted; run it again to continue');
    process.exit(130);
  }
  if (report.tables.some((t) => t.failed > 0)) {
    console.error('reencrypt: some values open under no enabled key version (logged with their table and key)');
    process.exit(1);
  }
  console.log('every sealed value is at the current version');
}

main().catch((err) => {
  console.error(`reencrypt: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
