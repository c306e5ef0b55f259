/**
 * What the load test asks for: its tenants, the jobs they submitted, and for each endpoint of the
 * mix the next request as a partner would send it. Every endpoint takes the tenants in turn, so
 * each gets an even share of the load (what keeps the tier limits out of the figures); a status
 * poll asks about one of that tenant's jobs, a result read about one of its jobs seen COMPLETED (a
 * result not ready yet is not a read the SLA is about). What the answers say (a job accepted, a
 * job's new status) is fed back, so the later requests follow the jobs as they run.
 */
import * as z from 'zod';
import type { Tier } from '../../shared/auth/api-keys';
import { EFFECTS_PRESETS, type EffectsPresetName } from '../../shared/media/presets';
import { MUSIC_STYLES } from '../../shared/media/music/styles';
import type { Answer, Call } from './client';
import type { Endpoint } from './endpoints';

export interface Tenant {
  key: string;
  tier: Tier;
  /** The address its requests come from, as the load balancer forwards it (X-Forwarded-For). */
  address: string;
  /** The storage_uri of its upload of the fixture, the input of its jobs. */
  videoUri: string;
}

export interface TrackedJob {
  id: string;
  tenant: Tenant;
  status: string;
  createdAt?: string;
  completedAt?: string | null;
  error?: { code: string; message: string };
}

/** A request of the mix, and what to learn from its answer. */
export interface Planned {
  call: Call;
  onAnswer?: (answer: Answer) => void;
}

const ENDED = new Set(['COMPLETED', 'FAILED', 'CANCELLED']);

const accepted = z.object({ job_id: z.string() });
const statusView = z.object({
  job_id: z.string(),
  status: z.string(),
  created_at: z.string(),
  completed_at: z.string().nullable(),
  error: z.object({ code: z.string(), message: z.string() }).optional(),
});

const PRESETS = Object.keys(EFFECTS_PRESETS) as EffectsPresetName[];

function listOf<K, V>(map: Map<K, V[]>, key: K): V[] {
  let list = map.get(key);
  if (!list) map.set(key, (list = []));
  return list;
}

function json(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    return undefined;
  }
}

export class Workload {
  private readonly jobs: TrackedJob[] = [];
  private readonly jobsOf = new Map<Tenant, TrackedJob[]>();
  private readonly completedOf = new Map<Tenant, TrackedJob[]>();
  private readonly turns: Record<Endpoint, number> = { submit: 0, status: 0, result: 0, list: 0, presets: 0 };

  constructor(readonly tenants: readonly Tenant[]) {
    if (tenants.length === 0) throw new Error('a workload needs at least one tenant');
  }

  /** The next request for `endpoint`; undefined when there is nothing to ask about yet. */
  plan(endpoint: Endpoint): Planned | undefined {
    const turn = this.turns[endpoint]++;
    switch (endpoint) {
      case 'submit':
        return this.submit(this.tenantInTurn(turn), turn);
      case 'status': {
        const job = this.pick(this.jobsOf.get(this.tenantInTurn(turn)));
        return job && this.status(job);
      }
      case 'result': {
        const job = this.pick(this.completedOf.get(this.tenantInTurn(turn)));
        return job && { call: this.get(job.tenant, `/pipeline/${job.id}/result`) };
      }
      case 'list':
        return { call: this.get(this.tenantInTurn(turn), '/jobs?limit=20') };
      case 'presets':
        // Public: no key, so the anonymous limit of the caller's address applies.
        return { call: { method: 'GET', path: '/presets', headers: this.from(this.tenantInTurn(turn)) } };
    }
  }

  /** A distinct, valid dub job of `tenant`'s upload; its answer, a 202, adds the job to those polled. */
  private submit(tenant: Tenant, n: number): Planned {
    const body = {
      video_url: tenant.videoUri,
      voice_text: `Load test job ${n + 1}.`,
      voice_language: 'en',
      music_style: MUSIC_STYLES[n % MUSIC_STYLES.length],
      effects_preset: PRESETS[n % PRESETS.length],
      metadata: { source: 'loadtest', n: String(n + 1) },
    };
    return {
      call: {
        method: 'POST',
        path: '/pipeline/run',
        headers: { ...this.auth(tenant), 'content-type': 'application/json' },
        body: JSON.stringify(body),
      },
      onAnswer: (answer) => {
        const parsed = accepted.safeParse(json(answer.body));
        if (answer.status === 202 && parsed.success) {
          const job = { id: parsed.data.job_id, tenant, status: 'PENDING' };
          this.jobs.push(job);
          listOf(this.jobsOf, tenant).push(job);
        }
      },
    };
  }

  /** A status poll of `job`; its answer updates what is known of the job. */
  status(job: TrackedJob): Planned {
    return {
      call: this.get(job.tenant, `/pipeline/${job.id}`),
      onAnswer: (answer) => {
        const parsed = statusView.safeParse(json(answer.body));
        if (answer.status === 200 && parsed.success) this.update(job, parsed.data);
      },
    };
  }

  /** Every job submitted so far, in order. */
  all(): readonly TrackedJob[] {
    return this.jobs;
  }

  unfinished(): TrackedJob[] {
    return this.jobs.filter((job) => !ENDED.has(job.status));
  }

  private update(job: TrackedJob, view: z.infer<typeof statusView>): void {
    const wasCompleted = job.status === 'COMPLETED';
    job.status = view.status;
    job.createdAt = view.created_at;
    job.completedAt = view.completed_at;
    job.error = view.error;
    if (view.status === 'COMPLETED' && !wasCompleted) listOf(this.completedOf, job.tenant).push(job);
  }

  private tenantInTurn(turn: number): Tenant {
    return this.tenants[turn % this.tenants.length]!;
  }

  private pick<T>(items: readonly T[] | undefined): T | undefined {
    return items?.[Math.floor(Math.random() * items.length)];
  }

  private get(tenant: Tenant, path: string): Call {
    return { method: 'GET', path, headers: this.auth(tenant) };
  }

  private auth(tenant: Tenant): Record<string, string> {
    return { ...this.from(tenant), authorization: `Bearer ${tenant.key}` };
  }

  private from(tenant: Tenant): Record<string, string> {
    return { accept: 'application/json', 'x-forwarded-for': tenant.address };
  }
}
