/**
 * The load of `npm run bench:submit`: autocannon, driven from the bench's own process through its
 * programmatic API, one segment (one target, one connection level, one round) at a time, and the
 * figures of a target's rounds pooled: counts summed, latency histograms merged (not percentiles
 * averaged, which would be meaningless).
 */
import { performance } from 'node:perf_hooks';
import { cpus } from 'node:os';
import { busyCores, machineCpuTimes } from '../loadtest/machine';

/** A hung request counts as a timeout after this long, rather than holding its connection forever. */
export const TIMEOUT_SECONDS = 10;

/** A request as autocannon's `requests` option takes it. */
interface LoadRequest {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: string;
  setupRequest?: (req: LoadRequest) => LoadRequest;
}

/** A segment's result as autocannon gives it with skipAggregateResult: the latency histogram still encoded. */
interface RawResult {
  latencies: string;
  /** Connection errors and timeouts together. */
  errors: number;
  timeouts: number;
  statusCodeStats: Record<string, { count: number }>;
  /** Seconds, as measured by autocannon. */
  duration: number;
}

interface Aggregated {
  latency: { p50: number; p99: number; max: number; totalCount: number };
}

/** The run in progress: a thenable for its result, and a way to end it early (Ctrl-C). */
interface Tracker extends PromiseLike<RawResult> {
  stop(): void;
}

/** The part of autocannon's API used here (the package ships no type declarations). */
interface Autocannon {
  (opts: {
    url: string;
    connections: number;
    duration: number;
    timeout: number;
    requests: LoadRequest[];
    skipAggregateResult: true;
  }): Tracker;
  aggregateResult(results: RawResult[], opts: { url: string; connections: number }): Aggregated;
}
const autocannon = require('autocannon') as Autocannon;

export interface Segment {
  raw: RawResult;
  /** CPU the bench process used while it ran, in cores: the check that the client is not the bottleneck. */
  clientCores: number;
  /** CPU the target's server process used, in cores (where it can be read): 1 is a saturated Node thread. */
  serverCores?: number;
  /** CPU the whole machine was busy, in cores: what is left beside server and client went to the database. */
  machineCores?: number;
}

/** A target's rounds at one connection level, pooled. */
export interface Summary {
  seconds: number;
  byStatus: Map<number, number>;
  answered: number;
  accepted: number;
  /** Connection errors, timeouts not included. */
  errors: number;
  timeouts: number;
  /** Milliseconds over every answer (any status); undefined when nothing was answered. */
  latency?: { p50: number; p99: number; max: number };
  clientCores: number;
  serverCores?: number;
  machineCores?: number;
}

/** The body of job number n: valid for POST /pipeline/run, and unlike any other job's. */
export function jobBody(n: number): Record<string, string> {
  return {
    video_url: `https://cdn.example.com/in/clip-${n}.mp4`,
    voice_text: `Welcome to the show number ${n}.`,
    music_style: 'orchestral',
    effects_preset: 'standard',
  };
}

/**
 * The one request autocannon repeats, rebuilt before each send: the next job number from `next`
 * (shared by both targets, so no two requests of a run are alike) and the tenants' keys in turn,
 * so that each tenant sees an even share and no tier limit is reached. Both targets get the same
 * bytes; the bare baseline ignores the key.
 */
export function jobRequests(keys: readonly string[], next: () => number): LoadRequest[] {
  return [
    {
      method: 'POST',
      path: '/pipeline/run',
      setupRequest: (req) => {
        const n = next();
        return {
          ...req,
          headers: {
            ...req.headers,
            'Content-Type': 'application/json',
            Authorization: `Bearer ${keys[n % keys.length]}`,
          },
          body: JSON.stringify(jobBody(n)),
        };
      },
    },
  ];
}

/**
 * One segment; `serverCpu` reads the CPU seconds of the target's server process so far, `signal`
 * (Ctrl-C) ends the segment at autocannon's next one-second tick.
 */
export async function runSegment(
  url: string,
  connections: number,
  seconds: number,
  requests: LoadRequest[],
  serverCpu: () => number | undefined,
  signal: AbortSignal,
): Promise<Segment> {
  const cpu = process.cpuUsage();
  const serverBefore = serverCpu();
  const machineBefore = machineCpuTimes();
  const started = performance.now();
  const tracker = autocannon({
    url,
    connections,
    duration: seconds,
    timeout: TIMEOUT_SECONDS,
    requests,
    skipAggregateResult: true,
  });
  const stop = (): void => tracker.stop();
  signal.addEventListener('abort', stop, { once: true });
  try {
    const raw = await tracker;
    const wallSeconds = (performance.now() - started) / 1000;
    const client = process.cpuUsage(cpu);
    const serverAfter = serverCpu();
    return {
      raw,
      clientCores: (client.user + client.system) / 1e6 / wallSeconds,
      serverCores:
        serverBefore !== undefined && serverAfter !== undefined
          ? (serverAfter - serverBefore) / wallSeconds
          : undefined,
      machineCores: busyCores(machineBefore, machineCpuTimes(), cpus().length),
    };
  } finally {
    signal.removeEventListener('abort', stop);
  }
}

export function summarize(segments: readonly Segment[], url: string, connections: number): Summary {
  const byStatus = new Map<number, number>();
  let seconds = 0;
  let errors = 0;
  let timeouts = 0;
  for (const { raw } of segments) {
    seconds += raw.duration;
    errors += raw.errors - raw.timeouts;
    timeouts += raw.timeouts;
    for (const [status, { count }] of Object.entries(raw.statusCodeStats)) {
      byStatus.set(Number(status), (byStatus.get(Number(status)) ?? 0) + count);
    }
  }
  const count = (pick: (status: number) => boolean): number =>
    [...byStatus].reduce((sum, [status, n]) => (pick(status) ? sum + n : sum), 0);
  return {
    seconds,
    byStatus,
    answered: count(() => true),
    accepted: count((status) => status >= 200 && status < 300),
    errors,
    timeouts,
    latency: pooledLatency(segments, url, connections),
    clientCores: meanCores(segments, (s) => s.clientCores) ?? 0,
    serverCores: meanCores(segments, (s) => s.serverCores),
    machineCores: meanCores(segments, (s) => s.machineCores),
  };
}

/** A CPU figure of the segments, weighted by their durations; undefined when any segment lacks it. */
function meanCores(segments: readonly Segment[], of: (s: Segment) => number | undefined): number | undefined {
  let seconds = 0;
  let coreSeconds = 0;
  for (const segment of segments) {
    const cores = of(segment);
    if (cores === undefined) return undefined;
    seconds += segment.raw.duration;
    coreSeconds += cores * segment.raw.duration;
  }
  return seconds > 0 ? coreSeconds / seconds : undefined;
}

/** Percentiles of the merged histograms. autocannon's aggregation mutates what it is given: it gets a copy. */
function pooledLatency(segments: readonly Segment[], url: string, connections: number): Summary['latency'] | undefined {
  if (segments.length === 0) return undefined;
  const { latency } = autocannon.aggregateResult(structuredClone(segments.map((s) => s.raw)), { url, connections });
  return latency.totalCount > 0 ? { p50: latency.p50, p99: latency.p99, max: latency.max } : undefined;
}
