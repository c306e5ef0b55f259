/**
 * The batch acceptance part of `npm run bench:submit`: how long `POST /pipeline/batch` takes to
 * accept (validate, write in one transaction, answer 202) a batch of the enterprise tier's largest
 * size, sent one after another on the stack the submit path was measured on.
 */
import { performance } from 'node:perf_hooks';
import { JOB_LIMITS } from '../../shared/jobs/limits';

export const BATCH_SIZE = JOB_LIMITS.enterprise.maxBatchSize;
/** The goal for the median acceptance time. */
const MEDIAN_GOAL_MS = 1000;

export interface BatchRun {
  size: number;
  /** Milliseconds from sending to the whole 202 answer, one per batch. */
  millis: number[];
}

function batchBody(run: number): string {
  return JSON.stringify({
    priority: 'normal',
    items: Array.from({ length: BATCH_SIZE }, (_, i) => ({
      video_url: `https://cdn.example.com/batch/${run}/clip-${i}.mp4`,
      voice_text: `Welcome to item ${i} of batch ${run}.`,
      music_style: 'orchestral',
      effects_preset: 'standard',
    })),
  });
}

/** Sends `count` batches in turn (one untimed first, to warm the path); fails on any non-202. */
export async function measureBatches(url: string, key: string, count: number, signal: AbortSignal): Promise<BatchRun> {
  const send = async (run: number): Promise<number> => {
    const body = batchBody(run);
    const started = performance.now();
    const res = await fetch(`${url}/pipeline/batch`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body,
      signal,
    });
    const text = await res.text();
    const elapsed = performance.now() - started;
    if (res.status !== 202) throw new Error(`POST /pipeline/batch answered ${res.status}: ${text.slice(0, 300)}`);
    return elapsed;
  };
  await send(0);
  const millis: number[] = [];
  for (let run = 1; run <= count; run++) millis.push(await send(run));
  return { size: BATCH_SIZE, millis };
}

const quantile = (sorted: number[], q: number): number =>
  sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;

/** The run's table, and its goal as the report's other goals are: a pass and a sentence. */
export function batchReport(run: BatchRun): { table: string[]; check: { pass: boolean; text: string } } {
  const sorted = [...run.millis].sort((a, b) => a - b);
  const median = quantile(sorted, 0.5);
  return {
    table: [
      `### POST /pipeline/batch, ${run.size} items (${sorted.length} batches in turn, after one untimed)`,
      '',
      '| | ms |',
      '| --- | ---: |',
      `| median | ${median.toFixed(0)} |`,
      `| p90 | ${quantile(sorted, 0.9).toFixed(0)} |`,
      `| max | ${sorted[sorted.length - 1]!.toFixed(0)} |`,
    ],
    check: {
      pass: median < MEDIAN_GOAL_MS,
      text: `a ${run.size}-item batch is accepted in ${median.toFixed(0)} ms at the median (goal: under ${MEDIAN_GOAL_MS} ms)`,
    },
  };
}
