import { formatEvent, nextEvents, parseEventId, type Cursor } from '../../shared/jobs/events';
import type { JobStatusRow } from '../../shared/jobs/views';

const row = (change: Partial<JobStatusRow> = {}): JobStatusRow => ({
  id: '6f1c1d1e-0000-4000-8000-000000000000',
  status: 'PENDING',
  recipe: 'dub',
  progress: 0,
  stage: 'queued',
  metadata: {},
  event_seq: 0,
  error_code: null,
  error_message: null,
  created_at: new Date('2025-01-01T00:00:00Z'),
  started_at: null,
  completed_at: null,
  batch_id: null,
  priority: 1,
  cancelled_at: null,
  ...change,
});

/** The cursor of a client that reconnects with the id of `event`. */
const resumed = (id: number): Cursor => parseEventId(String(id))!;

describe('job events', () => {
  it('tells a new client the status and the progress, and a finished job only its end', () => {
    expect(nextEvents(null, row()).events).toEqual([
      { id: 10, event: 'status', data: { job_id: row().id, status: 'PENDING', progress: 0, stage: 'queued' } },
      { id: 11, event: 'progress', data: { progress: 0, stage: 'queued' } },
    ]);
    const done = nextEvents(null, row({ status: 'COMPLETED', progress: 100, stage: 'done', event_seq: 7 }));
    expect(done.end).toBe(true);
    expect(done.events).toEqual([
      { id: 732, event: 'completed', data: expect.objectContaining({ status: 'COMPLETED', stage: 'done' }) },
    ]);
    expect(nextEvents(null, row({ status: 'FAILED', event_seq: 3 })).events.map((e) => e.event)).toEqual(['failed']);
  });

  it('sends each change once: status on a status change, progress on a progress or stage change', () => {
    let step = nextEvents(null, row());
    step = nextEvents(step.cursor, row({ event_seq: 1, status: 'PROCESSING', stage: 'fetching' }));
    expect(step.events.map((e) => [e.id, e.event])).toEqual([
      [120, 'status'],
      [121, 'progress'],
    ]);
    expect(nextEvents(step.cursor, row({ event_seq: 1, status: 'PROCESSING', stage: 'fetching' })).events).toEqual([]);
    step = nextEvents(step.cursor, row({ event_seq: 2, status: 'PROCESSING', stage: 'voice', progress: 12 }));
    expect(step.events).toEqual([{ id: 221, event: 'progress', data: { progress: 12, stage: 'voice' } }]);
  });

  it('resumes from a Last-Event-ID without repeating what it names', () => {
    const job = row({ event_seq: 4, status: 'PROCESSING', stage: 'mixing', progress: 40 });
    // Saw version 4 whole: nothing to say.
    expect(nextEvents(resumed(421), job).events).toEqual([]);
    // Saw the status of version 4, not its progress.
    expect(nextEvents(resumed(420), job).events).toEqual([
      { id: 421, event: 'progress', data: { progress: 40, stage: 'mixing' } },
    ]);
    // Saw an older version, same status: the progress now, no status.
    expect(nextEvents(resumed(221), job).events.map((e) => e.event)).toEqual(['progress']);
    // Saw it PENDING: the status too.
    expect(nextEvents(resumed(11), job).events.map((e) => e.event)).toEqual(['status', 'progress']);
    // Saw the end: over, with nothing to send.
    const ended = row({ event_seq: 9, status: 'COMPLETED', stage: 'done', progress: 100 });
    expect(nextEvents(resumed(932), ended)).toMatchObject({ events: [], end: true });
  });

  it('ignores ids it did not issue', () => {
    for (const id of [undefined, '', 'abc', '5', '1.5', '103', '1e9', '00']) expect(parseEventId(id)).toBeNull();
    expect(parseEventId('421')).toEqual({ seq: 4, status: 2, part: 1 });
  });

  it('formats an event as the stream carries it', () => {
    expect(formatEvent({ id: 11, event: 'progress', data: { progress: 0, stage: 'queued' } })).toBe(
      'id: 11\nevent: progress\ndata: {"progress":0,"stage":"queued"}\n\n',
    );
  });
});
