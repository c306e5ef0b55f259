/**
 * Fair scheduling with real jobs on the local stack (push bus -> job-processor, real ffmpeg): a
 * tenant's tier bounds how many of its jobs run at once, the rest wait without spending an
 * attempt, another tenant's job is not starved behind a backlog, and priority orders a tenant's
 * waiting jobs.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Stack } from '../../shared/local/stack';
import { closeTestEnv, newTenantKey, TestEnv, useTestEnv } from '../support/database';
import { startTestStack } from '../support/stack';
import { FileServer, serveDir } from '../support/file-server';
import { makeClip } from '../support/media-fixtures';
import { until } from '../support/webhook-fixtures';

let env: TestEnv;
let stack: Stack;
let files: FileServer;

interface Run {
  id: string;
  tenant_id: string;
  batch_index: number | null;
  status: string;
  attempts: number;
  started_at: Date;
  completed_at: Date;
}

const item = (n: number) => ({ video_url: `${files.url}/clip.mp4`, voice_text: `Line ${n}.` });

async function post(key: string, path: string, json: unknown): Promise<Record<string, any>> {
  const res = await fetch(`${stack.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify(json),
  });
  const body = (await res.json()) as Record<string, any>;
  if (res.status !== 202) throw new Error(`POST ${path} answered ${res.status}: ${JSON.stringify(body)}`);
  return body;
}

async function finished(ids: string[]): Promise<Run[]> {
  return until(
    async () => {
      const rows: Run[] = await env.db('jobs').whereIn('id', ids);
      const failed = rows.find((r) => r.status === 'FAILED');
      if (failed) throw new Error(`job ${failed.id} failed: ${JSON.stringify(failed)}`);
      return rows.every((r) => r.status === 'COMPLETED') ? rows : null;
    },
    `${ids.length} jobs to complete`,
    100_000,
  );
}

const overlaps = (a: Run, b: Run): boolean => a.started_at < b.completed_at && b.started_at < a.completed_at;

beforeAll(async () => {
  env = await useTestEnv();
  stack = await startTestStack(env);
  const dir = mkdtempSync(join(tmpdir(), 'aiprod-fair-'));
  makeClip(join(dir, 'clip.mp4'), { seconds: 4 });
  files = await serveDir(dir);
});

afterAll(async () => {
  await stack.stop();
  await files.close();
  await closeTestEnv();
});

it("interleaves two tenants' jobs under a backlog, each within its tier's concurrent_jobs", async () => {
  // Free tier: one job at a time. The local job-processor has two workers, like two instances.
  const a = await newTenantKey(env.db, 'free');
  const b = await newTenantKey(env.db, 'free');
  const batch = await post(a.key, '/pipeline/batch', { items: [0, 1, 2, 3, 4].map(item) });
  const single = await post(b.key, '/pipeline/run', item(9));
  const batchIds = (await env.db('jobs').where({ batch_id: batch.batch_id }).select('id')).map((r) => r.id as string);
  const runs = await finished([...batchIds, single.job_id]);
  const mine = runs.filter((r) => r.tenant_id === a.tenantId).sort((x, y) => +x.started_at - +y.started_at);
  const theirs = runs.find((r) => r.id === single.job_id)!;

  // Never two of A's jobs at once, and none spent an attempt waiting for its turn.
  for (let i = 1; i < mine.length; i++) expect(overlaps(mine[i - 1]!, mine[i]!)).toBe(false);
  expect(runs.map((r) => r.attempts)).toEqual(runs.map(() => 1));
  // B's one job did not wait behind A's backlog: it started before A's third job did. (Whether
  // before or beside A's second, and so which of the two ends first, is the machine's timing.)
  expect(+theirs.started_at).toBeLessThan(+mine[2]!.started_at);
  // A's jobs ran in the order they were given.
  expect(mine.map((r) => r.batch_index)).toEqual([0, 1, 2, 3, 4]);
});

it("runs a tenant's higher-priority job before its waiting lower-priority ones", async () => {
  const c = await newTenantKey(env.db, 'free');
  const batch = await post(c.key, '/pipeline/batch', { items: [0, 1, 2].map(item), priority: 'low' });
  const urgent = await post(c.key, '/pipeline/run', item(7));
  const batchIds = (await env.db('jobs').where({ batch_id: batch.batch_id }).select('id')).map((r) => r.id as string);
  const runs = await finished([...batchIds, urgent.job_id]);
  const order = runs.sort((x, y) => +x.started_at - +y.started_at).map((r) => r.batch_index ?? 'urgent');
  // The first low item may have started before the urgent job was submitted; none after it did.
  expect(order.slice(0, 2)).toContain('urgent');
  expect(order.filter((o) => o !== 'urgent')).toEqual([0, 1, 2]);
});
