/**
 * The flags of `npm run loadtest`, checked with zod: the rates, the mix, how long, and the SLA's
 * thresholds. A bad flag exits 2 with the usage.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import * as z from 'zod';
import { READ_ENDPOINTS, type ReadEndpoint } from './endpoints';

export interface Sla {
  /** Every endpoint: p95 and p99 latency under these, in ms. */
  p95Ms: number;
  p99Ms: number;
  /** Every endpoint: failed requests under this share of its requests, in percent. */
  maxErrorPercent: number;
  /** The read endpoints' own target: p99 under this, in ms. */
  readP99Ms: number;
}

export interface Options {
  /** Requests per second over the read endpoints together, shared out by `mix`. */
  rate: number;
  /** Each read endpoint's share of `rate`, summing to 1; an endpoint left out of --mix gets none. */
  mix: Record<ReadEndpoint, number>;
  /** Jobs submitted per second (POST /pipeline/run), on top of `rate`. */
  submitRate: number;
  duration: number;
  warmup: number;
  /** At least this many tenants; more when the rates need them to stay clear of the tier limits. */
  tenants: number;
  /** How long the jobs still running when the load ends may take to finish. */
  drainTimeout: number;
  sla: Sla;
  reportPath: string;
  dataDir: string;
}

const USAGE = `usage: npm run loadtest -- [--rate <req/s>] [--mix status=55,result=15,list=20,presets=10]
  [--submit-rate <jobs/s>] [--duration <s>] [--warmup <s>] [--tenants <n>] [--drain-timeout <s>]
  [--p95-ms <ms>] [--p99-ms <ms>] [--max-error-percent <%>] [--read-p99-ms <ms>] [--report <path>]`;

const DEFAULT_MIX = 'status=55,result=15,list=20,presets=10';

const FLAGS = {
  rate: { type: 'string', default: '200' },
  mix: { type: 'string', default: DEFAULT_MIX },
  'submit-rate': { type: 'string', default: '0.25' },
  duration: { type: 'string', default: '60' },
  warmup: { type: 'string', default: '5' },
  tenants: { type: 'string', default: '20' },
  'drain-timeout': { type: 'string', default: '300' },
  'p95-ms': { type: 'string', default: '2000' },
  'p99-ms': { type: 'string', default: '5000' },
  'max-error-percent': { type: 'string', default: '5' },
  'read-p99-ms': { type: 'string', default: '100' },
  report: { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

const number = (flag: string, min: number, strict: boolean) =>
  z.coerce
    .number({ error: `--${flag} takes a number` })
    .refine((n) => Number.isFinite(n) && (strict ? n > min : n >= min), {
      error: `--${flag} takes a number ${strict ? 'above' : 'of at least'} ${min}`,
    });
const whole = (flag: string, min: number) =>
  z.coerce
    .number()
    .int({ error: `--${flag} takes a whole number` })
    .min(min, `--${flag} takes at least ${min}`);

const mixSchema = z.string().transform((text, ctx) => {
  const weights = Object.fromEntries(READ_ENDPOINTS.map((e) => [e, 0])) as Record<ReadEndpoint, number>;
  for (const part of text.split(',')) {
    const [name, value, extra] = part.split('=').map((s) => s.trim());
    const weight = Number(value);
    if (!READ_ENDPOINTS.includes(name as ReadEndpoint) || extra !== undefined || !(weight >= 0)) {
      ctx.addIssue({
        code: 'custom',
        message: `--mix takes name=weight pairs, the names among ${READ_ENDPOINTS.join(', ')}; not "${part}"`,
      });
      return z.NEVER;
    }
    weights[name as ReadEndpoint] = weight;
  }
  const total = READ_ENDPOINTS.reduce((sum, e) => sum + weights[e], 0);
  if (total <= 0) {
    ctx.addIssue({ code: 'custom', message: '--mix needs at least one weight above 0' });
    return z.NEVER;
  }
  for (const e of READ_ENDPOINTS) weights[e] /= total;
  return weights;
});

const schema = z.object({
  rate: number('rate', 0, true),
  mix: mixSchema,
  'submit-rate': number('submit-rate', 0, false),
  duration: number('duration', 0, true),
  warmup: number('warmup', 0, false),
  tenants: whole('tenants', 1),
  'drain-timeout': number('drain-timeout', 0, false),
  'p95-ms': number('p95-ms', 0, true),
  'p99-ms': number('p99-ms', 0, true),
  'max-error-percent': number('max-error-percent', 0, true),
  'read-p99-ms': number('read-p99-ms', 0, true),
  report: z.string().min(1).optional(),
});

export function optionsFromArgs(args: string[]): Options {
  let values: ReturnType<typeof parseArgs<{ args: string[]; options: typeof FLAGS }>>['values'];
  try {
    values = parseArgs({ args, options: FLAGS }).values;
  } catch (err) {
    usage(err instanceof Error ? err.message : String(err));
  }
  if (values.help) usage();
  const parsed = schema.safeParse(values);
  if (!parsed.success) usage(parsed.error.issues.map((i) => i.message).join('; '));
  const v = parsed.data;
  // Its own data dir: its own embedded cluster, never the one `npm start` keeps the user's jobs in.
  const dataDir = resolve(process.env.AIPROD_DATA_DIR ?? '.aiprod', 'loadtest');
  return {
    rate: v.rate,
    mix: v.mix,
    submitRate: v['submit-rate'],
    duration: v.duration,
    warmup: v.warmup,
    tenants: v.tenants,
    drainTimeout: v['drain-timeout'],
    sla: {
      p95Ms: v['p95-ms'],
      p99Ms: v['p99-ms'],
      maxErrorPercent: v['max-error-percent'],
      readP99Ms: v['read-p99-ms'],
    },
    reportPath: resolve(v.report ?? resolve(dataDir, 'report.json')),
    dataDir,
  };
}

function usage(problem?: string): never {
  if (problem) console.error(`loadtest: ${problem}`);
  console.error(USAGE);
  process.exit(problem ? 2 : 0);
}
