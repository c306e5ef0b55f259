/**
 * A batch's results as a ZIP archive, streamed as it is built: one `items/<index>.json` per item
 * (status, error, signed output URL, media facts), read a page of jobs at a time, then
 * `manifest.json` (the batch and one line per item). Only a page and the manifest's lines are
 * ever held; no connection is held while URLs are signed or the archive is written.
 */
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { Knex } from 'knex';
import { ZipFile } from 'yazl';
import type { JobMetadata } from '../jobs/request';
import { resultView } from '../jobs/result-view';
import type { JobStatus, StoredResult } from '../jobs/views';
import { batchState, batchView, type BatchRow } from './views';

const PAGE = 50;

interface ItemRow {
  id: string;
  batch_index: number;
  status: JobStatus;
  metadata: JobMetadata;
  error_code: string | null;
  error_message: string | null;
  result: StoredResult | null;
  completed_at: Date | null;
  /** Set once retention deleted the output: the item then has no URL to give. */
  expired_at: Date | null;
}

const itemPath = (index: number): string => `items/${String(index).padStart(4, '0')}.json`;

async function itemFile(row: ItemRow, ttlSeconds: number) {
  const r = row.result;
  return {
    index: row.batch_index,
    job_id: row.id,
    status: row.status,
    metadata: row.metadata ?? {},
    completed_at: row.completed_at ? new Date(row.completed_at).toISOString() : null,
    error: row.status === 'FAILED' ? { code: row.error_code, message: row.error_message } : null,
    result: row.status === 'COMPLETED' && r && !row.expired_at ? await resultView(r, ttlSeconds) : null,
  };
}

/** Writes the archive to `out` (the response), ending it. */
export async function writeBatchResults(k: Knex, batch: BatchRow, ttlSeconds: number, out: Writable): Promise<void> {
  const done = finished(out);
  // A client gone away ends the loop below: waiting for a drain that never comes would hang it.
  const gone = done.then(
    () => 'gone' as const,
    () => 'gone' as const,
  );
  const zip = new ZipFile();
  zip.outputStream.pipe(out);
  try {
    await writeEntries(k, batch, ttlSeconds, out, zip, gone);
  } catch (err) {
    zip.outputStream.unpipe(out);
    throw err;
  }
  await done;
}

async function writeEntries(
  k: Knex,
  batch: BatchRow,
  ttlSeconds: number,
  out: Writable,
  zip: ZipFile,
  gone: Promise<'gone'>,
): Promise<void> {
  const lines: { index: number; job_id: string; status: JobStatus; file: string }[] = [];
  let after = -1;
  for (;;) {
    const page: ItemRow[] = await k('jobs')
      .where({ batch_id: batch.id })
      .where('batch_index', '>', after)
      .orderBy('batch_index')
      .limit(PAGE)
      .select(
        'id',
        'batch_index',
        'status',
        'metadata',
        'error_code',
        'error_message',
        'result',
        'completed_at',
        'expired_at',
      );
    if (page.length === 0) break;
    const files = await Promise.all(page.map((row) => itemFile(row, ttlSeconds)));
    for (const file of files) {
      const path = itemPath(file.index);
      zip.addBuffer(Buffer.from(`${JSON.stringify(file, null, 2)}\n`), path);
      lines.push({ index: file.index, job_id: file.job_id, status: file.status, file: path });
    }
    after = page[page.length - 1]!.batch_index;
    // Backpressure: a slow client holds the next page back rather than the memory.
    if (out.writableNeedDrain && (await Promise.race([once(out, 'drain'), gone])) === 'gone') return;
    if (out.destroyed) return;
  }
  const manifest = { batch: batchView(await batchState(k, batch)), items: lines };
  zip.addBuffer(Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`), 'manifest.json');
  zip.end();
}
