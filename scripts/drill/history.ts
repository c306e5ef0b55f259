/**
 * Weeks of history in three statements, so the dump and the restore have a realistic amount to
 * move: `count` ended jobs with the request and result of a real completed one, spread over the
 * retention period across the tenants; the usage they metered; and, for the tenants with a
 * webhook, one delivered `job.completed` event per completed job, with its attempt.
 */
import type { Knex } from 'knex';

const SPREAD_DAYS = 29;
const METERED = ['POST /pipeline/run', 'GET /pipeline/{id}', 'GET /pipeline/{id}/result'];

export async function seedHistory(k: Knex, count: number): Promise<void> {
  if (count === 0) return;
  const model = await k('jobs')
    .where({ status: 'COMPLETED' })
    .whereNotNull('result')
    .orderBy('completed_at')
    .first('recipe', 'request', 'result');
  if (!model) throw new Error('no completed job to model the history on');
  const tenants: string[] = await k('tenants').orderBy('name').pluck('id');
  await k.raw(
    `INSERT INTO jobs (id, tenant_id, status, recipe, request, metadata, progress, stage, attempts, result,
                       error_code, error_message, created_at, started_at, completed_at, cancelled_at, updated_at)
     SELECT gen_random_uuid(), (?::uuid[])[1 + g % ?], s.status, ?, ?::jsonb,
            jsonb_build_object('order', 'history-' || g),
            CASE WHEN s.status = 'COMPLETED' THEN 100 ELSE 40 END,
            CASE WHEN s.status = 'COMPLETED' THEN 'done' ELSE 'mixing' END, 1,
            CASE WHEN s.status = 'COMPLETED' THEN ?::jsonb END,
            CASE WHEN s.status = 'FAILED' THEN 'input_http_error' END,
            CASE WHEN s.status = 'FAILED' THEN 'The input answered HTTP 404.' END,
            s.at, s.at + interval '2 seconds', s.at + interval '20 seconds',
            CASE WHEN s.status = 'CANCELLED' THEN s.at + interval '20 seconds' END, s.at + interval '20 seconds'
     FROM generate_series(1, ?) g
     CROSS JOIN LATERAL (
       SELECT CASE WHEN g % 20 = 0 THEN 'FAILED' WHEN g % 33 = 0 THEN 'CANCELLED' ELSE 'COMPLETED' END AS status,
              now() - make_interval(secs => g::float8 / ? * ? * 86400) AS at) s`,
    [
      tenants,
      tenants.length,
      model.recipe,
      JSON.stringify(model.request),
      JSON.stringify(model.result),
      count,
      count,
      SPREAD_DAYS,
    ],
  );
  await k.raw(
    `INSERT INTO usage_daily (tenant_id, day, endpoint, calls, cost_micros)
     SELECT t, (now() - make_interval(days => d))::date, e, 10 + (d * 7) % 50, (10 + (d * 7) % 50) * 1000
     FROM unnest(?::uuid[]) t, generate_series(1, ?) d, unnest(?::text[]) e
     ON CONFLICT (tenant_id, day, endpoint)
       DO UPDATE SET calls = usage_daily.calls + excluded.calls, cost_micros = usage_daily.cost_micros + excluded.cost_micros`,
    [tenants, SPREAD_DAYS, METERED],
  );
  // The event id as the notifier derives it (webhooks/events.ts), so redeliveries would dedupe the same way.
  await k.raw(
    `WITH delivered AS (
       INSERT INTO webhook_deliveries (id, webhook_id, tenant_id, event_id, event_type, body, state, attempts,
                                       created_at, updated_at)
       SELECT gen_random_uuid(), w.id, w.tenant_id,
              'evt_' || substr(encode(sha256(convert_to('job.completed:' || j.id, 'UTF8')), 'hex'), 1, 32),
              'job.completed',
              jsonb_build_object('type', 'job.completed', 'timestamp', j.completed_at,
                                 'data', jsonb_build_object('job_id', j.id, 'status', j.status, 'metadata', j.metadata))::text,
              'succeeded', 1, j.completed_at, j.completed_at
       FROM jobs j JOIN webhooks w ON w.tenant_id = j.tenant_id
       WHERE j.status = 'COMPLETED' AND j.metadata->>'order' LIKE 'history-%'
       RETURNING id, created_at)
     INSERT INTO webhook_attempts (delivery_id, attempted_at, status_code, latency_ms)
     SELECT id, created_at, 204, 40 FROM delivered`,
  );
}
