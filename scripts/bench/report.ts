/**
 * What `npm run bench:submit` prints: a markdown table per connection level with the targets side
 * by side, the goals checked as PASS/FAIL lines, and the machine the figures come from.
 */
import { cpus, platform, release, totalmem } from 'node:os';
import { TIMEOUT_SECONDS, type Summary } from './load';

export interface Level {
  connections: number;
  rounds: number;
  seconds: number;
  submit: Summary;
  bare: Summary;
  /** The bare endpoint served through the functions-framework: the platform's own floor. */
  framework: Summary;
}

export interface Check {
  pass: boolean;
  text: string;
}

/** Answers that mean "overloaded, come back later": what the submit path may send instead of hanging. */
const SHED = new Set([429, 503]);
const STEADY_CONNECTIONS = 50;
const OVERLOAD_CONNECTIONS = 200;
/**
 * The steady goals are shares of the framework baseline, the floor of every function: no function
 * can be faster than the functions-framework serving one insert. At a fixed number of connections
 * a request takes connections / throughput on average, so keeping 2/3 of the floor's rate is
 * taking 1.5 times its time; the p99 goal is that same factor on the floor's p99.
 */
const MIN_THROUGHPUT_RATIO = 2 / 3;
const MAX_P99_RATIO = 1.5;
const OVERLOAD_MAX_MS = 2000;

const perSecond = (n: number, s: Summary): string => (s.seconds > 0 ? (n / s.seconds).toFixed(0) : '-');
const ms = (s: Summary, pick: 'p50' | 'p99' | 'max'): string => (s.latency ? String(s.latency[pick]) : '-');
const ratio = (a: number, b: number): string => (b > 0 ? (a / b).toFixed(2) : '-');

function statuses(s: Summary): string {
  const parts = [...s.byStatus].sort(([a], [b]) => a - b).map(([status, n]) => `${status} x ${n}`);
  return parts.length > 0 ? parts.join(', ') : 'none';
}

function shed(s: Summary): number {
  return [...s.byStatus].reduce((sum, [status, n]) => (SHED.has(status) ? sum + n : sum), 0);
}

const accepted = (s: Summary): number => s.accepted / s.seconds;

export function levelTable(level: Level): string[] {
  const { submit, bare, framework } = level;
  const row = (label: string, f: (s: Summary) => string): string =>
    `| ${label} | ${f(submit)} | ${f(bare)} | ${f(framework)} |`;
  return [
    `### ${level.connections} connections (${level.rounds} x ${level.seconds} s per target, interleaved)`,
    '',
    '| | submit: POST /pipeline/run | bare: express + pg insert | framework: the same through the functions-framework |',
    '| --- | ---: | ---: | ---: |',
    row('requests/s answered', (s) => perSecond(s.answered, s)),
    row('2xx/s (accepted)', (s) => perSecond(s.accepted, s)),
    row('latency p50 (ms)', (s) => ms(s, 'p50')),
    row('latency p99 (ms)', (s) => ms(s, 'p99')),
    row('latency max (ms)', (s) => ms(s, 'max')),
    row('answers by status', statuses),
    row('shed (429, 503)', (s) => String(shed(s))),
    row('connection errors', (s) => String(s.errors)),
    row(`timeouts (no answer in ${TIMEOUT_SECONDS} s)`, (s) => String(s.timeouts)),
    row('server process CPU (cores)', (s) => s.serverCores?.toFixed(2) ?? '-'),
    row('bench client CPU (cores)', (s) => s.clientCores.toFixed(2)),
    row('whole machine busy (cores)', (s) => s.machineCores?.toFixed(2) ?? '-'),
    '',
    `submit/bare: ${ratio(submit.answered / submit.seconds, bare.answered / bare.seconds)} of requests/s answered, ` +
      `${ratio(accepted(submit), accepted(bare))} of 2xx/s`,
    `framework/bare: ${ratio(accepted(framework), accepted(bare))} of 2xx/s; ` +
      `submit/framework: ${ratio(accepted(submit), accepted(framework))} of 2xx/s`,
  ];
}

/** The goals of a level: at 50 connections, keeping up with the framework's floor; at 200, answering in time. */
export function goalChecks(level: Level): Check[] {
  if (level.connections === STEADY_CONNECTIONS) return steadyChecks(level);
  if (level.connections === OVERLOAD_CONNECTIONS) return overloadChecks(level);
  return [];
}

function steadyChecks({ connections: c, submit, framework }: Level): Check[] {
  const kept = framework.accepted > 0 ? accepted(submit) / accepted(framework) : 0;
  const p99 = submit.latency?.p99;
  const floorP99 = framework.latency?.p99;
  const p99Limit = floorP99 === undefined ? undefined : floorP99 * MAX_P99_RATIO;
  const rejected = submit.answered - submit.accepted;
  return [
    {
      pass: kept >= MIN_THROUGHPUT_RATIO,
      text: `${c} connections: submit keeps ${kept.toFixed(2)} of the framework baseline's 2xx/s (goal: at least ${MIN_THROUGHPUT_RATIO.toFixed(2)})`,
    },
    {
      pass: p99 !== undefined && p99Limit !== undefined && p99 <= p99Limit,
      text: `${c} connections: submit latency p99 ${p99 ?? '-'} ms, ${ratio(p99 ?? 0, floorP99 ?? 0)} of the framework baseline's ${floorP99 ?? '-'} ms (goal: at most ${MAX_P99_RATIO.toFixed(2)})`,
    },
    {
      pass: rejected === 0 && submit.errors === 0 && submit.timeouts === 0 && submit.answered > 0,
      text: `${c} connections: submit answered ${submit.answered} requests, ${rejected} of them not 2xx; ${submit.errors} connection errors, ${submit.timeouts} timeouts (goal: all 2xx, none of either)`,
    },
  ];
}

function overloadChecks({ connections: c, submit }: Level): Check[] {
  const max = submit.latency?.max;
  const other = submit.answered - submit.accepted - shed(submit);
  return [
    {
      pass: max !== undefined && max <= OVERLOAD_MAX_MS && submit.timeouts === 0 && submit.errors === 0,
      text: `${c} connections: submit latency p99 ${submit.latency?.p99 ?? '-'} ms, max ${max ?? '-'} ms; ${submit.timeouts} timeouts, ${submit.errors} connection errors (goal: every request answered within ${OVERLOAD_MAX_MS} ms)`,
    },
    {
      pass: other === 0 && submit.answered > 0,
      text: `${c} connections: submit answered ${submit.accepted} 2xx, ${shed(submit)} shed (429, 503), ${other} other (goal: 2xx or shed, nothing else)`,
    },
  ];
}

/** Figures of a baseline that itself failed compare against nothing: say so beside the goals. */
export function baselineWarnings(level: Level): string[] {
  return (['bare', 'framework'] as const).flatMap((name) => {
    const s = level[name];
    const failed = s.answered - s.accepted + s.errors + s.timeouts;
    return failed > 0
      ? [
          `WARNING ${level.connections} connections: the ${name} baseline itself had ${failed} failed requests (${statuses(s)}; ${s.errors} errors, ${s.timeouts} timeouts)`,
        ]
      : [];
  });
}

export function machineLines(database: string): string[] {
  const cpu = cpus();
  return [
    `machine: ${cpu[0]?.model.trim() ?? 'unknown CPU'}, ${cpu.length} logical CPUs, ${(totalmem() / 2 ** 30).toFixed(1)} GiB RAM, ` +
      `${platform()} ${release()}; Node ${process.version}; ${database}`,
    'client (autocannon), stack and baselines share this machine and its database',
  ];
}
