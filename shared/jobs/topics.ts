/** Message shapes on the topics this module publishes to. */
export const PIPELINE_JOBS = 'pipeline-jobs';
export const JOB_RESULTS = 'job-results';

export interface PipelineJobMessage {
  job_id: string;
}

export interface JobResultMessage {
  type: 'job.completed' | 'job.failed';
  job_id: string;
  tenant_id: string;
  status: 'COMPLETED' | 'FAILED';
  error?: { code: string; message: string };
}
