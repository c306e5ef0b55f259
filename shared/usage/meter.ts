/**
 * Usage metering: every authenticated call that the rate limit lets through is counted per tenant,
 * UTC day and endpoint, with its price (costs.ts), into usage_daily.
 *
 * Why in memory, written in batches: the submit path must not get slower, so a call costs no
 * database statement of its own, only an addition to a counter in this instance's memory. Every
 * AIPROD_USAGE_FLUSH_SECONDS the counters are written in one statement (an upsert adding to each
 * day's row), and once more when the instance is stopped (lifecycle/shutdown.ts). Counting in Redis would
 * ride on the rate limiter's round trip, but it would need a second job moving counts from Redis to
 * PostgreSQL and still a memory fallback (the embedded default has no Redis, and an outage must
 * not lose calls), and Memorystore is a cache, not a ledger. The price of this choice is bounded:
 * an instance that crashes loses at most one interval of counts, and GET /usage sees a call once
 * its instance has flushed, within one interval.
 */
import type { Knex } from 'knex';
import type { RequestHandler } from 'express';
import type { Principal } from '../auth/api-keys';
import { now } from '../clock';
import { config } from '../config';
import { db } from '../db';
import { pathPattern } from '../http/paths';
import { logger } from '../log';
import type { HttpFunction } from '../platform/manifest';
import { installShutdown, onShutdown } from '../lifecycle/shutdown';
import { callCostMicros } from './costs';

interface Counter {
  tenant_id: string;
  day: string;
  endpoint: string;
  calls: number;
  cost_micros: number;
}

let pending = new Map<string, Counter>();
let flushes: Promise<void> = Promise.resolve();
let timer: NodeJS.Timeout | undefined;
/**
 * Counts are written through the pool that served the calls: once it is closed (the instance is
 * stopping), a late tick fails and keeps its counts instead of opening another pool.
 */
let writer: Knex | undefined;

function add(into: Map<string, Counter>, c: Counter): void {
  const key = `${c.tenant_id}|${c.day}|${c.endpoint}`;
  const counter = into.get(key);
  if (!counter) into.set(key, { ...c });
  else {
    counter.calls += c.calls;
    counter.cost_micros += c.cost_micros;
  }
}

// One statement for the whole batch, its rows as one JSON parameter. A tenant deleted meanwhile
// has no tenants row any more, and its counts are dropped rather than failing the batch.
const UPSERT = `
  INSERT INTO usage_daily (tenant_id, day, endpoint, calls, cost_micros)
  SELECT r.tenant_id, r.day, r.endpoint, r.calls, r.cost_micros
  FROM jsonb_to_recordset(CAST(? AS jsonb))
    AS r(tenant_id uuid, day date, endpoint text, calls bigint, cost_micros bigint)
  JOIN tenants t ON t.id = r.tenant_id
  ON CONFLICT (tenant_id, day, endpoint) DO UPDATE
  SET calls = usage_daily.calls + excluded.calls, cost_micros = usage_daily.cost_micros + excluded.cost_micros`;

async function writePending(): Promise<void> {
  if (pending.size === 0 || !writer) return;
  const batch = pending;
  pending = new Map();
  try {
    await writer.raw(UPSERT, [JSON.stringify([...batch.values()])]);
  } catch (err) {
    for (const counter of batch.values()) add(pending, counter);
    logger().warn('usage flush failed; its counts wait for the next one', { error: err, counters: batch.size });
  }
}

/** Writes every count waiting in this instance, in one statement; flushes take turns and never reject. */
export function flushUsage(): Promise<void> {
  flushes = flushes.then(writePending);
  return flushes;
}

/** Counts one call of `endpoint` (`METHOD /path` as the manifest declares it) for the principal's tenant. */
export function recordCall(principal: Principal, endpoint: string): void {
  writer = db();
  add(pending, {
    tenant_id: principal.tenantId,
    day: new Date(now()).toISOString().slice(0, 10),
    endpoint,
    calls: 1,
    cost_micros: callCostMicros(endpoint, principal.tier),
  });
  if (!timer) {
    timer = setInterval(() => void flushUsage(), config().AIPROD_USAGE_FLUSH_SECONDS * 1000).unref();
    // Before the pools close: the counts go through the pool that served their calls.
    onShutdown('flush', flushUsage);
    installShutdown();
  }
}

/** Counts each authenticated call of the route (after authentication and the rate limit). */
export function meterUsage(route: HttpFunction): RequestHandler {
  const paths = route.paths.map((path) => ({ path, pattern: pathPattern(path) }));
  return (req, _res, next) => {
    if (req.principal) {
      const path = paths.find((p) => p.pattern.test(req.path))?.path ?? route.paths[0];
      recordCall(req.principal, `${route.method} ${path}`);
    }
    next();
  };
}
