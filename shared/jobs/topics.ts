/** Message shapes on the topics the job path publishes to (topics are declared in shared/platform/manifest.ts). */
import type { Topic } from '../platform/manifest';

export const PIPELINE_JOBS: Topic = 'pipeline-jobs';
export const JOB_RESULTS: Topic = 'job-results';

export interface PipelineJobMessage {
  job_id: string;
}

export interface JobResultMessage {
  type: 'job.completed' | 'job.failed' | 'job.cancelled';
  job_id: string;
  tenant_id: string;
  status: 'COMPLETED' | 'FAILED' | 'CANCELLED';
  /** The job's metadata as submitted, `{}` when none. */
  metadata: Record<string, string>;
  error?: { code: string; message: string };
}

/** Also on job-results: the last job of a batch ended. */
export interface BatchResultMessage {
  type: 'batch.completed';
  batch_id: string;
  tenant_id: string;
}
