/**
 * winston logger: JSON lines locally, Cloud Logging's structured format on Google Cloud (severity,
 * trace correlation). A redaction format runs last so no key, secret or signed URL reaches a sink.
 */
import type winston from 'winston';
import type { LoggingWinston as CloudLogging } from '@google-cloud/logging-winston';
import { config } from './config';

const SENSITIVE_KEY = /(authorization|api[_-]?key|secret|password|token|signature|cookie|signing)/i;
const API_KEY = /sk_live_[A-Za-z0-9_-]+/g;
// A signed URL's query string is the credential; keep the path so the line is still useful.
const SIGNED_QUERY = /(\?|&)[^\s"']*(signature|sig|token|expires)=[^\s"']*/gi;

export function redactString(s: string): string {
  return s.replace(API_KEY, 'sk_live_[redacted]').replace(SIGNED_QUERY, '$1[redacted]');
}

function redactValue(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return redactString(value);
  if (depth > 6 || value === null || typeof value !== 'object') return value;
  if (value instanceof Error) return { name: value.name, message: redactString(value.message) };
  if (Array.isArray(value)) return value.map((v) => redactValue(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
    out[k] = SENSITIVE_KEY.test(k) ? '[redacted]' : redactValue(v, depth + 1);
  }
  return out;
}

function redact(info: winston.Logform.TransformableInfo): winston.Logform.TransformableInfo {
  for (const key of Object.keys(info)) {
    if (key === 'level') continue;
    info[key] = SENSITIVE_KEY.test(key) ? '[redacted]' : redactValue(info[key], 0);
  }
  return info;
}

/** Cloud Logging's format, loaded only on Google Cloud: its generated API client is large. */
function cloudLogging(): CloudLogging {
  const { LoggingWinston } = require('@google-cloud/logging-winston') as typeof import('@google-cloud/logging-winston');
  return new LoggingWinston({ redirectToStdout: true, useMessageField: false });
}

/** Built on the first line logged, winston loaded with it: a cold start's first answer needs neither. */
function build(): winston.Logger {
  const winston = require('winston') as typeof import('winston');
  const c = config();
  const transports: winston.transport[] =
    c.AIPROD_MODE === 'gcp' ? [cloudLogging()] : [new winston.transports.Console({ stderrLevels: [] })];
  // winston formats every line before its transports drop those under the level: the request log
  // of every answer would be redacted and serialized for nothing at LOG_LEVEL=warn.
  // First of the formats, so `level` is still the bare level name.
  const enabled = winston.format((info) => (built.isLevelEnabled(info.level) ? info : false));
  const built = winston.createLogger({
    level: c.LOG_LEVEL,
    format: winston.format.combine(
      enabled(),
      winston.format.timestamp(),
      winston.format(redact)(),
      winston.format.json(),
    ),
    defaultMeta: { service: process.env.K_SERVICE ?? process.env.FUNCTION_TARGET ?? 'aiprod' },
    transports,
    silent: c.NODE_ENV === 'test' && !process.env.LOG_IN_TESTS,
  });
  return built;
}

let instance: winston.Logger | undefined;

/** LOG_LEVEL's choices, most severe first, as winston's npm levels rank them. */
const SEVERITY = ['error', 'warn', 'info', 'debug'] as const;

/**
 * Whether lines at `level` are written, known without building the logger: a line logged on every
 * request (the request log) is not even assembled when its level is off.
 */
export function logsAt(level: (typeof SEVERITY)[number]): boolean {
  return SEVERITY.indexOf(config().LOG_LEVEL) >= SEVERITY.indexOf(level);
}

export function logger(): winston.Logger {
  instance ??= build();
  return instance;
}

/**
 * The Cloud Logging field that ties a line to its request's trace, from the load balancer's
 * `traceparent` or `X-Cloud-Trace-Context` header.
 */
export function traceFields(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const project = config().GOOGLE_CLOUD_PROJECT;
  const traceparent = headers['traceparent'];
  const cloud = headers['x-cloud-trace-context'];
  let traceId: string | undefined;
  if (typeof traceparent === 'string') traceId = traceparent.split('-')[1];
  else if (typeof cloud === 'string') traceId = cloud.split('/')[0];
  return traceId && /^[0-9a-f]{32}$/i.test(traceId)
    ? { 'logging.googleapis.com/trace': `projects/${project}/traces/${traceId}` }
    : {};
}
