/**
 * Running one job: claim it, keep the lease alive, fetch, dub, store, and finish in one
 * transaction with the `job-results` outbox row. The output key is derived from the job id, so a
 * retry overwrites rather than duplicates. Progress and stage are written as the job moves.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Knex } from 'knex';
import type { Logger } from 'winston';
import { config } from '../config';
import { isShuttingDown, ShuttingDown } from '../lifecycle/shutdown';
import { logger } from '../log';
import { objectStore } from '../platform';
import { finalFailure } from './failures';
import { withInput } from './input';
import { announce, completeJob } from './complete';
import { claimJob, MAX_ATTEMPTS, recordProgress, releaseJob, renewLease, requeueJob } from './lease';
import { inputUrl, JobRequest } from './request';
import { runRecipe, type RecipeTrack } from './recipes';
import { trackRunning } from './running';
import type { JobStage } from './stages';
import type { JobRow, StoredResult, StoredTrack } from './views';

const outputKey = (job: Pick<JobRow, 'tenant_id' | 'id'>, name: string): string =>
  `jobs/${job.tenant_id}/${job.id}/${name}`;

interface ProgressWriter {
  progress(percent: number): void;
  stage(stage: JobStage): void;
  /** Resolves once every write asked for so far has been made (or has failed: it is logged). */
  flushed(): Promise<void>;
}

/**
 * Writes progress and stage, one statement at a time and in order, each with a connection of its
 * own for that statement only. Progress is throttled: a progress bar needs a few updates a second
 * at most, the database none more. A new stage is written at once, with the latest percentage.
 */
function progressWriter(k: Knex, job: JobRow, owner: string, log: Logger): ProgressWriter {
  let percent = job.progress;
  let stage: JobStage = 'fetching'; // what claimJob wrote
  let writtenPercent = -1;
  let writtenAt = 0;
  let queue = Promise.resolve();
  const write = (at: { percent?: number; stage?: JobStage }): void => {
    queue = queue
      .then(() => recordProgress(k, job.id, owner, at))
      .catch((err) => void log.warn('progress write failed', { error: err }));
  };
  return {
    progress(next) {
      percent = next;
      const now = Date.now();
      if (next - writtenPercent < 1 || now - writtenAt < 1000) return;
      writtenPercent = next;
      writtenAt = now;
      write({ percent: next });
    },
    stage(next) {
      if (next === stage) return;
      stage = next;
      writtenPercent = percent;
      writtenAt = Date.now();
      write({ percent, stage: next });
    },
    flushed: () => queue,
  };
}

async function run(
  job: JobRow,
  progress: ProgressWriter,
  workDir: string,
  signal: AbortSignal,
  stillHeld: () => Promise<void>,
): Promise<StoredResult> {
  // Rows written before recipes existed carry no `recipe` in their request: they are dubs.
  const request = { recipe: job.recipe, ...job.request } as JobRequest;
  // The input is served on loopback while the recipe runs, and closed before the output is stored.
  const out = await withInput(inputUrl(request), workDir, signal, (input) => {
    progress.progress(10);
    return runRecipe(request, {
      inputPath: input.url,
      workDir,
      seed: job.id,
      onProgress: (p) => progress.progress(10 + p * 0.85),
      onStage: (stage) => progress.stage(stage),
      signal,
    });
  });
  progress.stage('storing');
  // A job cancelled (or taken over) since the last renewal stores nothing: the upload cannot be undone.
  await stillHeld();
  const bucket = config().AIPROD_OUTPUTS_BUCKET;
  const key = outputKey(job, `output.${out.extension}`);
  const [{ sizeBytes }, tracks] = await Promise.all([
    objectStore().put(bucket, key, out.path, out.contentType),
    out.tracks && Promise.all(out.tracks.map((t) => storeTrack(job, bucket, t, out.targetLufs))),
  ]);
  const { facts, loudness } = out;
  return {
    bucket,
    key,
    content_type: out.contentType,
    size_bytes: sizeBytes,
    duration_seconds: facts.durationSeconds,
    video: facts.video
      ? {
          codec: facts.video.codec,
          width: facts.video.width,
          height: facts.video.height,
          fps: facts.video.fps,
          copied: out.videoCopied ?? false,
        }
      : null,
    audio: facts.audio
      ? { codec: facts.audio.codec, sample_rate: facts.audio.sampleRate, channels: facts.audio.channels }
      : null,
    loudness: {
      integrated_lufs: loudness.integratedLufs,
      true_peak_dbtp: loudness.truePeakDbtp,
      lra: loudness.lra,
      target_lufs: out.targetLufs,
    },
    ...(tracks ? { tracks } : {}),
  };
}

/** A track's facts as stored, its caption sidecars uploaded beside the output. */
async function storeTrack(job: JobRow, bucket: string, t: RecipeTrack, targetLufs: number): Promise<StoredTrack> {
  let captions: StoredTrack['captions'] = null;
  if (t.captions) {
    const webvtt = outputKey(job, `captions.${t.language}.vtt`);
    const srt = outputKey(job, `captions.${t.language}.srt`);
    await Promise.all([
      objectStore().put(bucket, webvtt, t.captions.webvttPath, 'text/vtt; charset=utf-8'),
      objectStore().put(bucket, srt, t.captions.srtPath, 'application/x-subrip; charset=utf-8'),
    ]);
    captions = { webvtt_key: webvtt, srt_key: srt, burned: t.captions.burned };
  }
  return {
    language: t.language,
    audio: { codec: t.audio.codec, sample_rate: t.audio.sampleRate, channels: t.audio.channels },
    loudness: {
      integrated_lufs: t.loudness.integratedLufs,
      true_peak_dbtp: t.loudness.truePeakDbtp,
      lra: t.loudness.lra,
      target_lufs: targetLufs,
    },
    captions,
  };
}

/** At shutdown: the job goes back to waiting, and the turn its release hands on is published. */
async function release(k: Knex, job: JobRow, owner: string, log: Logger): Promise<void> {
  const turns = await releaseJob(k, job, owner);
  if (!turns) {
    log.info('job stopped at shutdown; it had been cancelled or taken over meanwhile');
    return;
  }
  log.info('job released at shutdown; its tenant has a turn to claim it elsewhere');
  await announce(k, turns);
}

/** How often a running job renews its lease, and so how soon it sees that it was cancelled. */
function heartbeatMs(leaseSeconds: number): number {
  return Math.min(leaseSeconds / 3, config().AIPROD_JOB_HEARTBEAT_SECONDS) * 1000;
}

/**
 * Handles one `pipeline-jobs` delivery: a turn of the job's tenant (lease.ts). Resolves (ack)
 * when the job claimed is done, failed for good, cancelled or taken over, released because the
 * instance shuts down (its turn handed on), or when the tenant has nothing it may run now; throws
 * (retry) on the platform's own trouble, and when the instance is already stopping.
 */
export async function processJob(k: Knex, messageJobId: string): Promise<void> {
  // A stopping instance starts nothing: the redelivery goes to another one.
  if (isShuttingDown()) throw new ShuttingDown();
  const owner = randomUUID();
  const leaseSeconds = config().AIPROD_JOB_LEASE_SECONDS;
  const job = await claimJob(k, messageJobId, owner, leaseSeconds);
  if (!job) {
    logger().info('nothing to claim (tenant at its limit, or no job waiting); delivery acknowledged', {
      jobId: messageJobId,
    });
    return;
  }
  const jobId = job.id;
  const log = logger().child({ jobId, tenantId: job.tenant_id, attempt: job.attempts });
  log.info('job claimed', jobId === messageJobId ? {} : { turnOf: messageJobId });
  const abort = new AbortController();
  const heartbeat = setInterval(() => {
    renewLease(k, jobId, owner, leaseSeconds)
      .then((held) => {
        if (!held) abort.abort(new Error('lease lost'));
      })
      .catch((err) => log.warn('lease renewal failed', { error: err }));
  }, heartbeatMs(leaseSeconds));
  const timeoutSeconds = config().AIPROD_PROCESSING_TIMEOUT_SECONDS;
  const timeout = AbortSignal.timeout(timeoutSeconds * 1000);
  const workDir = await mkdtemp(join(config().AIPROD_SCRATCH_DIR ?? tmpdir(), 'aiprod-job-'));
  const progress = progressWriter(k, job, owner, log);
  const untrack = trackRunning(abort);
  try {
    const stillHeld = async (): Promise<void> => {
      if (!(await renewLease(k, jobId, owner, leaseSeconds))) abort.abort(new Error('lease lost'));
      abort.signal.throwIfAborted();
    };
    const result = await run(job, progress, workDir, AbortSignal.any([abort.signal, timeout]), stillHeld);
    // The last stage lands before the outcome, so the stages read in the order they happened.
    await progress.flushed();
    if (!(await completeJob(k, job, owner, { status: 'COMPLETED', result }))) log.warn('lease lost before completion');
    else log.info('job completed', { sizeBytes: result.size_bytes, seconds: result.duration_seconds });
  } catch (err) {
    // Cancelled, taken over after a lapse, or stopped by the shutdown: not a failure, and nothing
    // of this run is wanted.
    if (abort.signal.aborted) {
      if (abort.signal.reason instanceof ShuttingDown) return await release(k, job, owner, log);
      log.info('job stopped: cancelled or taken over');
      return;
    }
    const failure = timeout.aborted
      ? { code: 'processing_timeout', message: `Processing took longer than ${timeoutSeconds} s.` }
      : finalFailure(err, job.attempts >= MAX_ATTEMPTS);
    if (failure) {
      // A failed job shows the stage it failed in.
      await progress.flushed();
      await completeJob(k, job, owner, { status: 'FAILED', ...failure });
      return;
    }
    log.error('job attempt failed; will be retried', { error: err });
    await requeueJob(k, jobId, owner).catch(() => undefined);
    throw err;
  } finally {
    clearInterval(heartbeat);
    await progress.flushed();
    await rm(workDir, { recursive: true, force: true });
    untrack();
  }
}
