/**
 * A job's life as Server-Sent Events: `status` on each change between PENDING and PROCESSING,
 * `progress` as progress or stage change, and one final event named after the end status
 * (`completed`, `failed`, `cancelled`) carrying the status view, after which the stream ends.
 *
 * Event ids come from the job's `event_seq`, which goes one up on every change of status,
 * progress or stage: id = event_seq * 100 + status * 10 + part (status 1 PENDING .. 5 CANCELLED;
 * part 0 status, 1 progress, 2 the final event). They only grow, and they say what the client
 * already knows, so a client reconnecting with Last-Event-ID is sent what it has not seen, and
 * nothing it has: a job that ended meanwhile sends just its final event.
 */
import { isFinal, statusView, type JobStatusRow } from './views';

export type JobEventName = 'status' | 'progress' | 'completed' | 'failed' | 'cancelled';

export interface JobEvent {
  id: number;
  event: JobEventName;
  data: unknown;
}

const STATUS_CODES: Record<string, number> = { PENDING: 1, PROCESSING: 2, COMPLETED: 3, FAILED: 4, CANCELLED: 5 };
/** A status this module does not know yet is still told apart from the known ones. */
const OTHER_STATUS = 9;
const PART = { status: 0, progress: 1, final: 2 } as const;

/** What the client has been told: the version and status of its last event, the progress when known. */
export interface Cursor {
  seq: number;
  status: number;
  part: number;
  progress?: number;
  stage?: string;
}

const statusCode = (status: string): number => STATUS_CODES[status] ?? OTHER_STATUS;
const eventId = (seq: number, status: number, part: number): number => seq * 100 + status * 10 + part;

/** The cursor a Last-Event-ID stands for; null for none or one we did not issue (the client starts afresh). */
export function parseEventId(value: string | undefined): Cursor | null {
  if (!value || !/^\d{2,15}$/.test(value.trim())) return null;
  const n = Number(value.trim());
  const part = n % 10;
  const status = Math.floor(n / 10) % 10;
  if (part > PART.final || status === 0) return null;
  return { seq: Math.floor(n / 100), status, part };
}

export interface Step {
  events: JobEvent[];
  cursor: Cursor;
  /** The job has ended and the client has been told (now or before): the stream is over. */
  end: boolean;
}

/** What to send a client at `cursor` (null: told nothing yet) about the job as it is now. */
export function nextEvents(cursor: Cursor | null, job: JobStatusRow): Step {
  const seq = job.event_seq;
  const status = statusCode(job.status);
  const progress = { progress: job.progress, stage: job.stage };
  const known = { seq, status, ...progress };
  if (cursor && seq <= cursor.seq) {
    // Nothing new, except the progress of a version whose status event was the last one seen.
    if (isFinal(job.status)) return { events: [], cursor, end: true };
    if (seq === cursor.seq && cursor.part === PART.status && cursor.progress === undefined) {
      return {
        events: [{ id: eventId(seq, status, PART.progress), event: 'progress', data: progress }],
        cursor: { ...known, part: PART.progress },
        end: false,
      };
    }
    return { events: [], cursor, end: false };
  }
  if (isFinal(job.status)) {
    const event = job.status.toLowerCase() as JobEventName;
    return {
      events: [{ id: eventId(seq, status, PART.final), event, data: statusView(job) }],
      cursor: { ...known, part: PART.final },
      end: true,
    };
  }
  const events: JobEvent[] = [];
  if (!cursor || cursor.status !== status) {
    events.push({
      id: eventId(seq, status, PART.status),
      event: 'status',
      data: { job_id: job.id, status: job.status, ...progress },
    });
  }
  if (!cursor || cursor.progress !== job.progress || cursor.stage !== job.stage) {
    events.push({ id: eventId(seq, status, PART.progress), event: 'progress', data: progress });
  }
  const last = events[events.length - 1];
  return { events, cursor: { ...known, part: last ? last.id % 10 : (cursor?.part ?? PART.progress) }, end: false };
}

/** One event as the stream carries it. */
export const formatEvent = (e: JobEvent): string =>
  `id: ${e.id}\nevent: ${e.event}\ndata: ${JSON.stringify(e.data)}\n\n`;
