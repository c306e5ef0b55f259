/**
 * Re-encryption: moves every sealed value whose data key is wrapped by another KEK version than
 * the current one to the current one, by re-wrapping its data key (the ciphertext stays). One
 * pass per table walks the rows in primary-key order, a batch at a time, and records how far it
 * got (`reencrypt_progress`), so an interrupted pass continues after the last batch it finished.
 * No connection is held while the KEK (Cloud KMS) works: a batch is read, re-wrapped in memory,
 * then each row is written only if its sealed values are still the ones read, so a key rotated by
 * its owner meanwhile is never overwritten. A second run finds nothing to do and writes nothing.
 */
import type { Knex } from 'knex';
import { logger } from '../log';
import { KeyVersionUnknownError, rewrap, type KeyEncryptionKey, type Sealed } from './envelope';
import { KeyServiceError } from './kms';

/** Every column holding a sealed value (a Sealed JSON object), by table and primary key. */
export const SEALED_COLUMNS: readonly { table: string; key: string; columns: readonly string[] }[] = [
  { table: 'webhooks', key: 'id', columns: ['secret', 'previous_secret'] },
];

export interface TableReport {
  table: string;
  /** Rows with at least one value under another version: re-wrapped, or (dry run) to re-wrap. */
  due: number;
  rewrapped: number;
  /** Rows whose value no enabled KEK version opens; left as they are and logged. */
  failed: number;
  /** The primary key after which this pass resumed, when an earlier one was interrupted. */
  resumedAfter?: string;
  /** Values due per KEK version (dry run). */
  byVersion?: Record<string, number>;
}

export interface ReencryptReport {
  targetVersion: string;
  dryRun: boolean;
  /** True when the signal stopped the run before every table was done; a rerun continues. */
  interrupted: boolean;
  tables: TableReport[];
}

export interface ReencryptOptions {
  batchSize?: number;
  dryRun?: boolean;
  /** Stops the run after the batch in progress (SIGINT, a function's deadline). */
  signal?: AbortSignal;
  /** Called after each batch written: for progress output. */
  onBatch?: (table: TableReport) => void;
}

type Row = Record<string, unknown>;

/** The rows after `after` holding a value under another version than `target`, in key order. */
function dueRows(k: Knex, t: (typeof SEALED_COLUMNS)[number], target: string, after: string | null, limit: number) {
  const q = k(t.table).select(t.key, ...t.columns);
  if (after !== null) q.where(t.key, '>', after);
  q.where((w) => {
    for (const c of t.columns)
      w.orWhereRaw('?? IS NOT NULL AND ??->>? IS DISTINCT FROM ?', [c, c, 'key_version', target]);
  });
  return q.orderBy(t.key).limit(limit) as Promise<Row[]>;
}

async function dryRunTable(k: Knex, t: (typeof SEALED_COLUMNS)[number], target: string): Promise<TableReport> {
  const byVersion: Record<string, number> = {};
  for (const c of t.columns) {
    const rows: { version: string; n: string }[] = await k(t.table)
      .whereNotNull(c)
      .whereRaw('??->>? IS DISTINCT FROM ?', [c, 'key_version', target])
      .select(k.raw('??->>? AS version', [c, 'key_version']))
      .count({ n: '*' })
      .groupBy('version');
    for (const r of rows) byVersion[r.version] = (byVersion[r.version] ?? 0) + Number(r.n);
  }
  const due = Number(
    (
      (await k(t.table)
        .where((w) => {
          for (const c of t.columns)
            w.orWhereRaw('?? IS NOT NULL AND ??->>? IS DISTINCT FROM ?', [c, c, 'key_version', target]);
        })
        .count({ n: '*' })
        .first()) as { n: string } | undefined
    )?.n ?? 0,
  );
  return { table: t.table, due, rewrapped: 0, failed: 0, byVersion };
}

/** A value no enabled version opens: counted and logged, not a reason to stop the others. */
const unopenable = (err: unknown): boolean => err instanceof KeyVersionUnknownError || err instanceof KeyServiceError;

async function passTable(
  k: Knex,
  kek: KeyEncryptionKey,
  t: (typeof SEALED_COLUMNS)[number],
  target: string,
  opts: Required<Pick<ReencryptOptions, 'batchSize'>> & ReencryptOptions,
): Promise<{ report: TableReport; finished: boolean }> {
  const progress = await k('reencrypt_progress')
    .where({ table_name: t.table, target_version: target })
    .first<{ last_key: string | null; completed_at: Date | null } | undefined>();
  // An interrupted pass continues; a finished one (or none) starts from the first row.
  const resuming = progress && !progress.completed_at ? progress : undefined;
  let after = resuming?.last_key ?? null;
  const report: TableReport = { table: t.table, due: 0, rewrapped: 0, failed: 0 };
  if (resuming?.last_key) report.resumedAfter = resuming.last_key;
  let recorded = Boolean(resuming);

  for (;;) {
    if (opts.signal?.aborted) return { report, finished: false };
    const rows = await dueRows(k, t, target, after, opts.batchSize);
    let rewrapped = 0;
    let failed = 0;
    for (const row of rows) {
      const key = String(row[t.key]);
      const changes: Record<string, Sealed> = {};
      try {
        for (const c of t.columns) {
          const sealed = row[c] as Sealed | null;
          if (sealed && sealed.key_version !== target) changes[c] = await rewrap(kek, sealed);
        }
      } catch (err) {
        if (!unopenable(err)) throw err;
        failed++;
        logger().error('sealed value does not open', { table: t.table, key, error: err });
        continue;
      }
      // Written only if no one changed the row since it was read (jsonb equality on every column).
      const q = k(t.table).where(t.key, row[t.key] as string);
      for (const c of t.columns) {
        if (row[c] === null) q.whereNull(c);
        else q.whereRaw('?? = ?::jsonb', [c, JSON.stringify(row[c])]);
      }
      const updated = await q.update(
        Object.fromEntries(Object.entries(changes).map(([c, v]) => [c, JSON.stringify(v)])),
      );
      if (updated) rewrapped++;
    }
    report.due += rows.length;
    report.rewrapped += rewrapped;
    report.failed += failed;
    const last = rows.at(-1);
    const finished = rows.length < opts.batchSize;
    if (last) after = String(last[t.key]);
    // Nothing found and nothing recorded: a run with nothing to do writes nothing.
    if (rows.length || recorded) {
      await k('reencrypt_progress')
        .insert({
          table_name: t.table,
          target_version: target,
          last_key: after,
          rewrapped,
          failed,
          completed_at: finished ? k.fn.now() : null,
        })
        .onConflict(['table_name', 'target_version'])
        .merge({
          last_key: after,
          updated_at: k.fn.now(),
          completed_at: finished ? k.fn.now() : null,
          // A new pass over a finished one starts its counts and its clock again.
          ...(recorded
            ? {
                rewrapped: k.raw('reencrypt_progress.rewrapped + ?', [rewrapped]),
                failed: k.raw('reencrypt_progress.failed + ?', [failed]),
              }
            : { rewrapped, failed, started_at: k.fn.now() }),
        });
      recorded = true;
      opts.onBatch?.(report);
    }
    if (finished) return { report, finished: true };
  }
}

export async function reencrypt(k: Knex, kek: KeyEncryptionKey, opts: ReencryptOptions = {}): Promise<ReencryptReport> {
  const batchSize = opts.batchSize ?? 100;
  const targetVersion = await kek.currentVersion();
  const report: ReencryptReport = { targetVersion, dryRun: Boolean(opts.dryRun), interrupted: false, tables: [] };
  for (const t of SEALED_COLUMNS) {
    if (opts.dryRun) {
      report.tables.push(await dryRunTable(k, t, targetVersion));
      continue;
    }
    const { report: table, finished } = await passTable(k, kek, t, targetVersion, { ...opts, batchSize });
    report.tables.push(table);
    if (!finished) {
      report.interrupted = true;
      break;
    }
  }
  return report;
}
