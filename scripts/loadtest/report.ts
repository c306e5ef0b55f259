/**
 * What `npm run loadtest` concludes: per endpoint its figures, the jobs' fate, the SLA checked
 * figure by figure, and the machine; as a markdown table with PASS/FAIL lines, and as JSON.
 */
import { ENDPOINTS, isRead, ROUTES, type Endpoint } from './endpoints';
import type { Rates } from './load';
import type { Machine } from './machine';
import type { Options, Sla } from './options';
import type { EndpointFigures, Latency } from './stats';
import type { TrackedJob } from './workload';

export interface JobsReport {
  /** Accepted during the warm-up and the measured window (the first job of each tenant apart). */
  submitted: number;
  completed: number;
  failed: number;
  /** Still PENDING or PROCESSING when the drain timeout ran out. */
  unfinished: number;
  /** From acceptance to completion, by the jobs' own timestamps, in seconds; null when none completed. */
  turnaround_seconds: Omit<Latency, 'p99'> | null;
  /** The failures' codes, with how many jobs failed with each. */
  failures: Record<string, number>;
}

export interface Check {
  /** The route, or `jobs`. */
  subject: string;
  figure: string;
  value: number | null;
  limit: number;
  pass: boolean;
  text: string;
}

export interface Measured {
  machine: Machine & { busy_cores?: number; stack_process_cores?: number; client_cores: number };
  database: string;
  tenants: { count: number; tiers: Record<string, number> };
  endpoints: Partial<Record<Endpoint, EndpointFigures>>;
  jobs: JobsReport;
  stackLog: string[];
}

export interface Report {
  generated_at: string;
  options: {
    rate: number;
    mix: Options['mix'];
    submit_rate: number;
    duration_seconds: number;
    warmup_seconds: number;
    drain_timeout_seconds: number;
  };
  tenants: Measured['tenants'];
  offered_rate: number;
  achieved_rate: number;
  endpoints: Partial<Record<Endpoint, EndpointFigures & { route: string }>>;
  jobs: JobsReport;
  sla: { thresholds: Sla; pass: boolean; checks: Check[] };
  machine: Measured['machine'];
  database: string;
  stack_log: string[];
}

const sum = (values: number[]): number => Number(values.reduce((a, b) => a + b, 0).toFixed(2));

export function buildReport(opts: Options, rates: Rates, measured: Measured): Report {
  const endpoints = Object.fromEntries(
    ENDPOINTS.filter((e) => measured.endpoints[e]).map((e) => [e, { route: ROUTES[e], ...measured.endpoints[e]! }]),
  );
  const figures = Object.values(measured.endpoints);
  const checks = slaChecks(opts.sla, rates, measured.endpoints, measured.jobs);
  return {
    generated_at: new Date().toISOString(),
    options: {
      rate: opts.rate,
      mix: opts.mix,
      submit_rate: opts.submitRate,
      duration_seconds: opts.duration,
      warmup_seconds: opts.warmup,
      drain_timeout_seconds: opts.drainTimeout,
    },
    tenants: measured.tenants,
    offered_rate: sum(figures.map((f) => f.offered_rate)),
    achieved_rate: sum(figures.map((f) => f.achieved_rate)),
    endpoints,
    jobs: measured.jobs,
    sla: { thresholds: opts.sla, pass: checks.every((c) => c.pass), checks },
    machine: measured.machine,
    database: measured.database,
    stack_log: measured.stackLog,
  };
}

/**
 * Every endpoint the mix exercised: measured at all, p95 and p99 under the SLA, errors under its
 * share; the read endpoints also p99 under their own target; and every job accepted completed.
 */
export function slaChecks(
  sla: Sla,
  rates: Rates,
  endpoints: Partial<Record<Endpoint, EndpointFigures>>,
  jobs: JobsReport,
): Check[] {
  const checks: Check[] = [];
  const check = (subject: string, figure: string, value: number | null, limit: number, unit: string): void => {
    const pass = value !== null && value < limit;
    const shown = value === null ? 'none' : `${value} ${unit}`;
    checks.push({
      subject,
      figure,
      value,
      limit,
      pass,
      text: `${subject} ${figure} ${shown} (SLA: under ${limit} ${unit})`,
    });
  };
  for (const e of ENDPOINTS.filter((name) => rates[name] > 0)) {
    const f = endpoints[e];
    const route = ROUTES[e];
    const requests = f?.requests ?? 0;
    checks.push({
      subject: route,
      figure: 'requests',
      value: requests,
      limit: 1,
      pass: requests > 0,
      text: `${route} requests ${requests} (must be measured: at least 1)`,
    });
    check(route, 'p95', f?.latency_ms?.p95 ?? null, sla.p95Ms, 'ms');
    check(route, 'p99', f?.latency_ms?.p99 ?? null, sla.p99Ms, 'ms');
    check(route, 'errors', f ? f.error_percent : null, sla.maxErrorPercent, '%');
    if (isRead(e)) check(route, 'p99 (read target)', f?.latency_ms?.p99 ?? null, sla.readP99Ms, 'ms');
  }
  const ended = jobs.completed === jobs.submitted && jobs.failed === 0 && jobs.unfinished === 0;
  checks.push({
    subject: 'jobs',
    figure: 'completed',
    value: jobs.completed,
    limit: jobs.submitted,
    pass: ended,
    text: `jobs completed ${jobs.completed} of ${jobs.submitted} submitted (${jobs.failed} failed, ${jobs.unfinished} unfinished; every one must complete)`,
  });
  return checks;
}

export function jobsReport(jobs: readonly TrackedJob[]): JobsReport {
  const completed = jobs.filter((j) => j.status === 'COMPLETED');
  const failed = jobs.filter((j) => j.status === 'FAILED' || j.status === 'CANCELLED');
  const seconds = completed
    .flatMap((j) =>
      j.createdAt && j.completedAt ? [(Date.parse(j.completedAt) - Date.parse(j.createdAt)) / 1000] : [],
    )
    .sort((a, b) => a - b);
  const at = (q: number): number => Number(seconds[Math.max(0, Math.ceil(q * seconds.length) - 1)]!.toFixed(1));
  const failures: Record<string, number> = {};
  for (const j of failed) failures[j.error?.code ?? j.status] = (failures[j.error?.code ?? j.status] ?? 0) + 1;
  return {
    submitted: jobs.length,
    completed: completed.length,
    failed: failed.length,
    unfinished: jobs.length - completed.length - failed.length,
    turnaround_seconds: seconds.length > 0 ? { p50: at(0.5), p95: at(0.95), max: at(1) } : null,
    failures,
  };
}

const cell = (n: number | undefined): string => (n === undefined ? '-' : String(n));

/** The report as the terminal shows it: markdown tables, then one PASS or FAIL line per check. */
export function reportLines(report: Report, reportPath: string): string[] {
  const { options: o, jobs, machine: m } = report;
  const rows = ENDPOINTS.flatMap((e) => {
    const f = report.endpoints[e];
    if (!f) return [];
    const statuses = Object.entries(f.by_status)
      .map(([status, n]) => `${status} x ${n}`)
      .join(', ');
    const failures = [
      f.timeouts ? `${f.timeouts} timeouts` : '',
      f.connection_errors ? `${f.connection_errors} refused` : '',
    ]
      .filter(Boolean)
      .join(', ');
    return [
      `| ${f.route} | ${f.requests} | ${f.offered_rate} | ${f.achieved_rate} | ${cell(f.latency_ms?.p50)} | ` +
        `${cell(f.latency_ms?.p95)} | ${cell(f.latency_ms?.p99)} | ${cell(f.latency_ms?.max)} | ` +
        `${f.errors} (${f.error_percent}%) | ${[statuses, failures].filter(Boolean).join('; ') || '-'} |`,
    ];
  });
  const turnaround = jobs.turnaround_seconds
    ? `; from acceptance to completion p50 ${jobs.turnaround_seconds.p50} s, p95 ${jobs.turnaround_seconds.p95} s, max ${jobs.turnaround_seconds.max} s`
    : '';
  const failures = Object.entries(jobs.failures)
    .map(([code, n]) => `${code} x ${n}`)
    .join(', ');
  const failedChecks = report.sla.checks.filter((c) => !c.pass);
  const tiers = Object.entries(report.tenants.tiers)
    .map(([tier, n]) => `${n} ${tier}`)
    .join(', ');
  return [
    '',
    `${o.duration_seconds} s measured after ${o.warmup_seconds} s of warm-up; reads at ${o.rate} req/s (${mixText(o.mix)}), ` +
      `submits at ${o.submit_rate} jobs/s; ${report.tenants.count} tenants (${tiers}); open loop, latency from when each request was due`,
    '',
    '| endpoint | requests | offered/s | achieved 2xx/s | p50 ms | p95 ms | p99 ms | max ms | errors | answers |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
    ...rows,
    `| all | | ${report.offered_rate} | ${report.achieved_rate} | | | | | | |`,
    '',
    `jobs: ${jobs.submitted} submitted, ${jobs.completed} completed, ${jobs.failed} failed${failures ? ` (${failures})` : ''}, ` +
      `${jobs.unfinished} unfinished${turnaround}`,
    `machine: ${m.nproc} x ${m.cpu_model}, ${m.memory_gib} GiB, ${m.os}; Node ${m.node}; ${report.database}`,
    `busy cores while measured: machine ${cell(m.busy_cores)} of ${m.nproc}, stack process ${cell(m.stack_process_cores)}, ` +
      `client ${m.client_cores} (the rest: PostgreSQL, ffmpeg, anything else running)`,
    ...(report.stack_log.length > 0 ? ["the stack's log, most frequent warnings:", ...report.stack_log] : []),
    '',
    ...report.sla.checks.map((c) => `${c.pass ? 'PASS' : 'FAIL'} ${c.text}`),
    report.sla.pass
      ? `SLA met: ${report.sla.checks.length} checks passed`
      : `SLA missed: ${failedChecks.length} of ${report.sla.checks.length} checks failed`,
    `report: ${reportPath}`,
  ];
}

const mixText = (mix: Options['mix']): string =>
  Object.entries(mix)
    .filter(([, share]) => share > 0)
    .map(([name, share]) => `${name} ${Math.round(share * 100)}%`)
    .join(', ');
