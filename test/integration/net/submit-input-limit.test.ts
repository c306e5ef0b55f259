/**
 * At submit, over real HTTP against a real PostgreSQL: an upload larger than the largest input a
 * job takes (its size is known from its record, bound into its signed URL) is refused with 422
 * `input_too_large`, naming the limit, for one job and for a batch's items.
 */
import { randomUUID } from 'node:crypto';
import type { Stack } from '../../../shared/local/stack';
import { closeTestEnv, newTenantKey, TestEnv, useTestEnv } from '../../support/database';
import { startTestStack } from '../../support/stack';

const BUCKET = 'aiprod-uploads';
/** What job-processor's 4 GiB leave for an input (shared/jobs/input-limit.ts). */
const LIMIT = '3 GiB (3221225472 bytes)';

let env: TestEnv;
let stack: Stack;
let tenant: { key: string; tenantId: string };

/** An upload handed out to the tenant (as POST /uploads records it), of this size; its URI. */
async function recordedUpload(sizeBytes: number): Promise<string> {
  const id = randomUUID();
  await env.db('uploads').insert({
    id,
    tenant_id: tenant.tenantId,
    filename: 'clip.mp4',
    content_type: 'video/mp4',
    size_bytes: sizeBytes,
    expires_at: new Date(Date.now() + 3600_000),
  });
  return `gs://${BUCKET}/${tenant.tenantId}/${id}/clip.mp4`;
}

async function post(path: string, json: unknown) {
  const res = await fetch(`${stack.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${tenant.key}`, 'content-type': 'application/json' },
    body: JSON.stringify(json),
  });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

const dub = (video_url: string) => ({ video_url, voice_text: 'A few words.' });

beforeAll(async () => {
  env = await useTestEnv();
  stack = await startTestStack(env);
  tenant = await newTenantKey(env.db, 'pro');
});

afterAll(async () => {
  await stack.stop();
  await closeTestEnv();
});

it('refuses a job whose upload is over the limit with 422 input_too_large, naming the limit', async () => {
  const r = await post('/pipeline/run', dub(await recordedUpload(4 * 1024 ** 3)));
  expect(r.status).toBe(422);
  expect(r.body).toMatchObject({ code: 'input_too_large', detail: expect.stringContaining(LIMIT) });
  expect(r.body.errors).toEqual([
    {
      field: 'video_url',
      code: 'input_too_large',
      message: `The upload is 4 GiB (4294967296 bytes); the largest input a job takes is ${LIMIT}.`,
    },
  ]);
  expect(await env.db('jobs').where({ tenant_id: tenant.tenantId })).toHaveLength(0);
});

it("refuses a batch with an item's upload over the limit, and names the item", async () => {
  const fine = await recordedUpload(1024);
  const r = await post('/pipeline/batch', { items: [dub(fine), dub(await recordedUpload(3221225473))] });
  expect(r.status).toBe(422);
  expect(r.body).toMatchObject({ code: 'input_too_large' });
  expect(r.body.errors).toEqual([expect.objectContaining({ field: 'items[1].video_url', code: 'input_too_large' })]);
});

it('lists an upload over the limit beside other faults as a field of validation_failed', async () => {
  const madeUp = `gs://${BUCKET}/${tenant.tenantId}/${randomUUID()}/clip.mp4`;
  const r = await post('/pipeline/batch', { items: [dub(madeUp), dub(await recordedUpload(4 * 1024 ** 3))] });
  expect(r.status).toBe(422);
  expect(r.body.code).toBe('validation_failed');
  expect(r.body.errors.map((e: { code: string }) => e.code).sort()).toEqual(['input_too_large', 'unknown_upload']);
});
