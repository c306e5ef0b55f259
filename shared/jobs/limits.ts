/** What a tier may run and submit at once (roadmap API-3.10). */
import type { Tier } from '../auth/api-keys';

export interface JobLimits {
  /** How many of a tenant's jobs run at once; the others wait their turn, in priority order. */
  concurrentJobs: number;
  /** The most items one batch may hold. */
  maxBatchSize: number;
}

export const JOB_LIMITS: Readonly<Record<Tier, JobLimits>> = {
  free: { concurrentJobs: 1, maxBatchSize: 10 },
  pro: { concurrentJobs: 5, maxBatchSize: 100 },
  enterprise: { concurrentJobs: 50, maxBatchSize: 500 },
};

/** Priorities as partners name them and as the database orders them (higher runs first). */
export const PRIORITIES = { low: 0, normal: 1, high: 2 } as const;
export type Priority = keyof typeof PRIORITIES;

export const priorityName = (value: number): Priority =>
  (Object.keys(PRIORITIES) as Priority[]).find((p) => PRIORITIES[p] === value) ?? 'normal';
