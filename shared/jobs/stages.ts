/**
 * Where a job is in its run, beside its progress, in the order a job goes through them. A recipe
 * skips the stages it has no use for (extract_audio speaks no voice; music from the library is
 * its own stage, generated music is made during `mixing`). A FAILED job keeps the stage it failed
 * in; a job the sweeper puts back in the queue is `queued` again.
 */
export const JOB_STAGES = ['queued', 'fetching', 'voice', 'music', 'mixing', 'encoding', 'storing', 'done'] as const;
export type JobStage = (typeof JOB_STAGES)[number];
