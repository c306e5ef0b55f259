/**
 * What one endpoint's requests did during the measured window, and its figures: exact percentiles
 * over every latency (a run holds a few tens of thousands at most), error rate, and the rate
 * offered against the rate achieved.
 */

/** What the SLA counts as a failed request: no answer, or an answer other than 2xx. */
const isSuccess = (status: number): boolean => status >= 200 && status < 300;

export class EndpointStats {
  /** Requests the schedule called for. */
  due = 0;
  /** Due, but with nothing to ask about yet (no job completed to read the result of): not sent. */
  skipped = 0;
  readonly byStatus = new Map<number, number>();
  timeouts = 0;
  connectionErrors = 0;
  /** Milliseconds from when each request was due to its answer (or its failure). */
  readonly latencies: number[] = [];
  /** performance.now() of the last answer or failure. */
  lastAt = 0;

  answered(status: number, dueAt: number, at: number): void {
    this.byStatus.set(status, (this.byStatus.get(status) ?? 0) + 1);
    this.took(dueAt, at);
  }

  failed(kind: 'timeout' | 'connection', dueAt: number, at: number): void {
    if (kind === 'timeout') this.timeouts++;
    else this.connectionErrors++;
    // A timeout's latency is the time waited, a lower bound: it still weighs on the tail.
    if (kind === 'timeout') this.took(dueAt, at);
    else this.lastAt = Math.max(this.lastAt, at);
  }

  private took(dueAt: number, at: number): void {
    this.latencies.push(at - dueAt);
    this.lastAt = Math.max(this.lastAt, at);
  }
}

export interface Latency {
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

export interface EndpointFigures {
  /** Requests sent (due and not skipped). */
  requests: number;
  skipped: number;
  /** Answers by HTTP status. */
  by_status: Record<string, number>;
  timeouts: number;
  connection_errors: number;
  /** Non-2xx answers, timeouts and connection errors. */
  errors: number;
  /** errors / requests, in percent. */
  error_percent: number;
  /** Milliseconds, over every answer and timeout; null when there were none. */
  latency_ms: Latency | null;
  /** Requests per second the schedule offered, and 2xx answers per second the stack gave. */
  offered_rate: number;
  achieved_rate: number;
}

/** The nearest-rank percentile of ascending `sorted`. */
function percentile(sorted: readonly number[], q: number): number {
  return sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)]!;
}

const round = (n: number, digits: number): number => Number(n.toFixed(digits));

/**
 * The figures of one endpoint over a window of `seconds` that began at `start`: the achieved
 * rate counts over the window, or until the last answer when answers came later than its end.
 */
export function figures(stats: EndpointStats, start: number, seconds: number): EndpointFigures {
  const requests = stats.due - stats.skipped;
  const byStatus = [...stats.byStatus].sort(([a], [b]) => a - b);
  const succeeded = byStatus.reduce((sum, [status, n]) => (isSuccess(status) ? sum + n : sum), 0);
  const answered = byStatus.reduce((sum, [, n]) => sum + n, 0);
  const errors = answered - succeeded + stats.timeouts + stats.connectionErrors;
  const sorted = [...stats.latencies].sort((a, b) => a - b);
  const span = Math.max(seconds, (stats.lastAt - start) / 1000);
  return {
    requests,
    skipped: stats.skipped,
    by_status: Object.fromEntries(byStatus.map(([status, n]) => [String(status), n])),
    timeouts: stats.timeouts,
    connection_errors: stats.connectionErrors,
    errors,
    error_percent: requests > 0 ? round((100 * errors) / requests, 3) : 0,
    latency_ms:
      sorted.length > 0
        ? {
            p50: round(percentile(sorted, 0.5), 1),
            p95: round(percentile(sorted, 0.95), 1),
            p99: round(percentile(sorted, 0.99), 1),
            max: round(sorted[sorted.length - 1]!, 1),
          }
        : null,
    offered_rate: round(requests / seconds, 2),
    achieved_rate: round(succeeded / span, 2),
  };
}
