/**
 * The system-wide metrics: the deployment's figures as the database holds them, read when scraped
 * (system-figures.ts). prom-client asks every metric of a registry for its samples at once; these
 * share one read per scrape, and a scrape arriving during a read joins it.
 *
 * A database that does not answer (down, saturated, too slow) leaves these metrics without
 * samples in that answer and counts one aiprod_metrics_scrape_errors_total; the rest (what the
 * instance knows by itself) is still served, with 200, so one outage does not blind the scraper
 * to the instance's own pool and request figures.
 */
import type { Knex } from 'knex';
import {
  Counter,
  type CounterConfiguration,
  Gauge,
  type GaugeConfiguration,
  Histogram,
  type HistogramConfiguration,
  type Registry,
} from 'prom-client';
import { logger } from '../log';
import { JOB_STATUSES, PROCESSING_BUCKETS, readSystemFigures, type SystemFigures } from './system-figures';

type Figures = () => Promise<SystemFigures | null>;
type Samples<M extends { get(): Promise<{ values: unknown[] }> }> = Awaited<ReturnType<M['get']>>['values'];

/** A gauge whose samples are the scrape's figures: none when they could not be read. */
class FiguresGauge<T extends string> extends Gauge<T> {
  constructor(
    config: GaugeConfiguration<T>,
    private readonly figures: Figures,
    private readonly samples: (f: SystemFigures) => Samples<Gauge<T>>,
  ) {
    super(config);
  }

  override async get(): ReturnType<Gauge<T>['get']> {
    const [metric, figures] = await Promise.all([super.get(), this.figures()]);
    return { ...metric, values: figures ? this.samples(figures) : [] };
  }
}

/** A counter of what the scrape's read met, so read once that read has ended: its own failure counts in its answer. */
class FiguresCounter extends Counter {
  constructor(
    config: CounterConfiguration<string>,
    private readonly figures: Figures,
  ) {
    super(config);
  }

  override async get(): ReturnType<Counter['get']> {
    await this.figures();
    return super.get();
  }
}

declare module 'prom-client' {
  interface Histogram<T extends string> {
    /**
     * What prom-client's registry renders a histogram from (its get() is this plus the labels
     * spread out for JSON); untyped in prom-client 15's declarations.
     */
    getForPromString(): ReturnType<Histogram<T>['get']>;
  }
}

/**
 * A histogram counted by the database rather than observed here: its buckets, sum and count are
 * the scrape's figures (`le` is the one label prom-client adds itself when it observes).
 */
class FiguresHistogram<T extends string> extends Histogram<T | 'le'> {
  constructor(
    // No `collect` (typed for a Histogram<T>, not this Histogram<T | 'le'>): the figures are the samples.
    config: Omit<HistogramConfiguration<T>, 'collect'>,
    private readonly figures: Figures,
    private readonly samples: (f: SystemFigures, name: string) => Samples<Histogram<T | 'le'>>,
  ) {
    super(config);
  }

  override async getForPromString(): ReturnType<Histogram<T | 'le'>['get']> {
    const [metric, figures] = await Promise.all([super.getForPromString(), this.figures()]);
    return { ...metric, values: figures ? this.samples(figures, metric.name) : [] };
  }
}

export function registerSystemMetrics(registry: Registry, database: () => Knex): void {
  const read = async (): Promise<SystemFigures | null> => {
    try {
      return await readSystemFigures(database());
    } catch (err) {
      errors.inc();
      logger().warn('metrics: system figures unreadable', { error: err });
      return null;
    }
  };
  let reading: Promise<SystemFigures | null> | undefined;
  const figures: Figures = () =>
    (reading ??= read().finally(() => {
      reading = undefined;
    }));
  const errors = new FiguresCounter(
    {
      name: 'aiprod_metrics_scrape_errors_total',
      help: 'Scrapes of this instance whose system-wide figures could not be read from the database; those metrics were left out of that answer.',
      registers: [registry],
    },
    figures,
  );

  new FiguresGauge(
    {
      name: 'aiprod_jobs',
      help: 'Jobs in the database, by status (system-wide).',
      labelNames: ['status'],
      registers: [registry],
    },
    figures,
    (f) => JOB_STATUSES.map((status) => ({ labels: { status }, value: f.jobs[status] })),
  );
  new FiguresGauge(
    {
      name: 'aiprod_jobs_queue_depth',
      help: 'PENDING jobs waiting to run, by priority (system-wide).',
      labelNames: ['priority'],
      registers: [registry],
    },
    figures,
    (f) => Object.entries(f.queueDepth).map(([priority, value]) => ({ labels: { priority }, value })),
  );
  new FiguresGauge(
    {
      name: 'aiprod_jobs_oldest_pending_age_seconds',
      help: 'Seconds since the oldest PENDING job was submitted, 0 when none waits (system-wide).',
      registers: [registry],
    },
    figures,
    (f) => [{ labels: {}, value: f.oldestPendingSeconds }],
  );
  new FiguresHistogram(
    {
      name: 'aiprod_job_processing_seconds',
      help: 'Time from the first start of a job to its end, of every ended job the database holds, by recipe and final status (system-wide).',
      labelNames: ['recipe', 'status'],
      buckets: PROCESSING_BUCKETS,
      registers: [registry],
    },
    figures,
    (f, name) =>
      f.processing.flatMap(({ recipe, status, count, sumSeconds, buckets }) => [
        ...PROCESSING_BUCKETS.map((le, i) => ({
          metricName: `${name}_bucket`,
          labels: { recipe, status, le },
          value: buckets[i] ?? 0,
        })),
        { metricName: `${name}_bucket`, labels: { recipe, status, le: '+Inf' }, value: count },
        { metricName: `${name}_sum`, labels: { recipe, status }, value: sumSeconds },
        { metricName: `${name}_count`, labels: { recipe, status }, value: count },
      ]),
  );
  new FiguresGauge(
    {
      name: 'aiprod_webhook_deliveries',
      help: 'Webhook deliveries in the database, by state: pending (attempts left), succeeded, failed (system-wide).',
      labelNames: ['state'],
      registers: [registry],
    },
    figures,
    (f) => Object.entries(f.deliveries).map(([state, value]) => ({ labels: { state }, value })),
  );
}
