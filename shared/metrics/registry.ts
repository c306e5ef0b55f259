/**
 * The one Prometheus registry of a process: request, pool and breaker metrics register here, and
 * GET /metrics renders it. Its own registry, not prom-client's global one, so a test can read it
 * without whatever else a library registered.
 */
import { Registry } from 'prom-client';

export const registry = new Registry();
