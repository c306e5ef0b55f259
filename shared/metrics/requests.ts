/**
 * Request metrics of every HTTP function: how many answers, of which status, and how long they
 * took, per function of the manifest, method and status code. createApp mounts the middleware
 * first, so every answer counts, the app's own problems (401, 404, 405, 413, 429, 503) included.
 *
 * Labels stay few: the function's name (never the raw path, which carries ids), the method (an
 * unknown verb is OTHER) and the status code, which the app draws from a short fixed list.
 * Per instance: on Google Cloud each function is its own service, so an instance counts its own
 * calls only (Cloud Run's request metrics in Cloud Monitoring cover the fleet); locally the one
 * stack process counts every function.
 *
 * The series are made, and prom-client loaded, with the first answer counted (after it is sent)
 * or the first scrape, not at import: a cold start's first answer does not wait for them.
 */
import type { RequestHandler } from 'express';
import type { Counter, Histogram } from 'prom-client';

const LABELS = ['function', 'method', 'code'] as const;

/** 5 ms to 10 s, dense where the API answers (tens of milliseconds) so p95 and p99 interpolate well. */
export const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 10];

type Label = (typeof LABELS)[number];
let series: { requests: Counter<Label>; duration: Histogram<Label> } | undefined;

/** The two series, in the process's registry; made once. */
export function requestSeries(): NonNullable<typeof series> {
  if (series) return series;
  const { Counter, Histogram } = require('prom-client') as typeof import('prom-client');
  const { registry } = require('./registry') as typeof import('./registry');
  series = {
    requests: new Counter({
      name: 'aiprod_http_requests_total',
      help: 'HTTP requests answered, by function, method and status code.',
      labelNames: LABELS,
      registers: [registry],
    }),
    duration: new Histogram({
      name: 'aiprod_http_request_duration_seconds',
      help: 'Time from a request reaching its function to the end of its answer, by function, method and status code.',
      labelNames: LABELS,
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
  };
  return series;
}

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/**
 * nginx's code for a client that closed the connection before any answer was sent: the response's
 * status would still read 200 then.
 */
const CLIENT_CLOSED = '499';

export function requestMetrics(functionName: string): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    // `close` rather than `finish`: a stream the client ends (Server-Sent Events) never finishes.
    res.once('close', () => {
      const labels = {
        function: functionName,
        method: METHODS.has(req.method) ? req.method : 'OTHER',
        code: res.headersSent ? String(res.statusCode) : CLIENT_CLOSED,
      };
      const { requests, duration } = requestSeries();
      requests.inc(labels);
      duration.observe(labels, Number(process.hrtime.bigint() - started) / 1e9);
    });
    next();
  };
}
