/**
 * The largest input a job takes, derived from job-processor's memory in the manifest.
 *
 * On Cloud Run the scratch dir is memory, so all a job holds counts against its function's memory:
 * the process, its scratch files and the output it writes before storing it. The input is read
 * from where it lies, a range at a time, and never stored (shared/net/input-server.ts); the output
 * is about as large as the input, as the picture is copied. So a job needs
 *
 *     memory >= PROCESS_RESERVE + SCRATCH_RESERVE + output,  with output ~ input,
 *
 * and the largest input is memory - PROCESS_RESERVE - SCRATCH_RESERVE: 3 GiB of job-processor's
 * 4 GiB. AIPROD_MAX_INPUT_BYTES may lower the limit, never raise it: a larger input would not fit.
 */
import { config } from '../config';
import { manifest } from '../platform/manifest';

const MiB = 1024 ** 2;

/** Node, the ffmpeg runs and their buffers (each read of the input in flight holds a chunk or two). */
export const PROCESS_RESERVE_BYTES = 512 * MiB;
/**
 * The scratch files beside the output: the audio work (voice, music, mix), an input kept whole
 * because its origin does not answer range requests (at most SPOOL_MAX_BYTES), and what the output
 * outgrows the input by (its new AAC track: 86 MB an hour at 192 kb/s).
 */
export const SCRATCH_RESERVE_BYTES = 512 * MiB;
/** How large an input from an origin that does not answer range requests may be: it is kept whole in scratch. */
export const SPOOL_MAX_BYTES = 256 * MiB;

/** The function that runs jobs: its memory bounds the input. */
const JOB_PROCESSOR = 'job-processor';

/** `4Gi` -> 4294967296: the manifest's memory sizes, binary units. */
export function memoryBytes(memory: string): number {
  const match = /^(\d+)(Mi|Gi)$/.exec(memory);
  if (!match) throw new RangeError(`memory "${memory}" is not a size in Mi or Gi`);
  return Number(match[1]) * (match[2] === 'Gi' ? 1024 ** 3 : MiB);
}

/** The largest input a function with `memory` bytes can run a job on. */
export function inputLimitFor(memory: number): number {
  return Math.max(0, memory - PROCESS_RESERVE_BYTES - SCRATCH_RESERVE_BYTES);
}

/** The largest input a job takes: job-processor's limit, or AIPROD_MAX_INPUT_BYTES when lower. */
export function maxInputBytes(): number {
  const fn = manifest.find((f) => f.name === JOB_PROCESSOR);
  if (!fn) throw new Error(`the manifest declares no ${JOB_PROCESSOR}`);
  const derived = inputLimitFor(memoryBytes(fn.memory));
  const override = config().AIPROD_MAX_INPUT_BYTES;
  return override === undefined ? derived : Math.min(derived, override);
}
