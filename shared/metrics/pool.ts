/**
 * Database pool usage of this instance, read from knex's pools when scraped: connections lent out
 * and idle, callers waiting for one, and the pool's size, for the primary and (once opened) the
 * replica pool. Waiting callers above zero for long means requests are about to be shed with 503.
 */
import { Gauge, type Registry } from 'prom-client';
import { poolUsage } from '../db';

export function registerPoolMetrics(registry: Registry): void {
  new Gauge({
    name: 'aiprod_db_pool_connections',
    help: "Connections of this instance's database pool, by pool (primary, replica) and state (used: lent out, free: idle).",
    labelNames: ['pool', 'state'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const p of poolUsage()) {
        this.set({ pool: p.pool, state: 'used' }, p.used);
        this.set({ pool: p.pool, state: 'free' }, p.free);
      }
    },
  });
  new Gauge({
    name: 'aiprod_db_pool_pending_acquires',
    help: "Callers waiting for a connection of this instance's database pool, by pool.",
    labelNames: ['pool'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const p of poolUsage()) this.set({ pool: p.pool }, p.pendingAcquires);
    },
  });
  new Gauge({
    name: 'aiprod_db_pool_max_connections',
    help: "Size of this instance's database pool (DATABASE_POOL_MAX), by pool.",
    labelNames: ['pool'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const p of poolUsage()) this.set({ pool: p.pool }, p.max);
    },
  });
}
