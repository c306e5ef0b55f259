/** The delivery rules: what an answer means, the retry schedule with its jitter, Retry-After and its cap. */
import { parseConfig } from '../../shared/config';
import { MAX_BODY_BYTES, jobEventBody, jobEventId } from '../../shared/webhooks/events';
import {
  nextWaitSeconds,
  retryAfterSeconds,
  retryWaitSeconds,
  verdictOf,
  withJitter,
} from '../../shared/webhooks/schedule';

describe('what an answer means', () => {
  it.each([
    [200, 'succeeded'],
    [204, 'succeeded'],
    [410, 'gone'],
    [408, 'retry'],
    [429, 'retry'],
    [500, 'retry'],
    [503, 'retry'],
    [400, 'failed'],
    [401, 'failed'],
    [404, 'failed'],
    [301, 'failed'],
  ] as const)('HTTP %i: %s', (status, verdict) => {
    expect(verdictOf({ status })).toBe(verdict);
  });

  it('retries no answer (timeout, refused connection) and fails a refused URL for good', () => {
    expect(verdictOf({ status: null, failure: 'timeout' })).toBe('retry');
    expect(verdictOf({ status: null, failure: 'unreachable' })).toBe('retry');
    expect(verdictOf({ status: null, failure: 'forbidden' })).toBe('failed');
  });
});

describe('the schedule', () => {
  const schedule = parseConfig({}).AIPROD_WEBHOOK_RETRY_SECONDS;

  it('is the Standard Webhooks example by default: ten attempts over about three days', () => {
    expect(schedule).toEqual([0, 5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400]);
  });

  it('gives the wait before each next attempt, with +-10% jitter, and none after the last', () => {
    expect(nextWaitSeconds(schedule, 1, () => 0.5)).toBe(5);
    expect(nextWaitSeconds(schedule, 2, () => 0)).toBeCloseTo(270);
    expect(nextWaitSeconds(schedule, 2, () => 1)).toBeCloseTo(330);
    expect(nextWaitSeconds(schedule, 9, () => 0.5)).toBe(86400);
    expect(nextWaitSeconds(schedule, 10)).toBeNull();
    expect(withJitter(0)).toBe(0);
  });

  it('reads AIPROD_WEBHOOK_RETRY_SECONDS as comma-separated seconds, and refuses anything else', () => {
    expect(parseConfig({ AIPROD_WEBHOOK_RETRY_SECONDS: '0, 1,2' }).AIPROD_WEBHOOK_RETRY_SECONDS).toEqual([0, 1, 2]);
    for (const bad of ['', '1,,2', '-1', '1.5', 'soon'])
      expect(() => parseConfig({ AIPROD_WEBHOOK_RETRY_SECONDS: bad })).toThrow(/AIPROD_WEBHOOK_RETRY_SECONDS/);
  });
});

describe('Retry-After', () => {
  const now = new Date('2026-03-01T12:00:00Z');

  it('reads delay-seconds and HTTP dates, and nothing else', () => {
    expect(retryAfterSeconds('120', now)).toBe(120);
    expect(retryAfterSeconds('Sun, 01 Mar 2026 12:05:00 GMT', now)).toBe(300);
    expect(retryAfterSeconds('Sun, 01 Mar 2026 11:00:00 GMT', now)).toBe(0);
    expect(retryAfterSeconds(undefined, now)).toBeNull();
    expect(retryAfterSeconds('soon', now)).toBeNull();
    expect(retryAfterSeconds('-5', now)).toBeNull();
    expect(retryAfterSeconds('2026', now)).toBe(2026);
  });

  it('waits at least the schedule, at least Retry-After, and Retry-After no longer than the cap', () => {
    expect(retryWaitSeconds(5, null, 3600)).toBe(5);
    expect(retryWaitSeconds(5, 60, 3600)).toBe(60);
    expect(retryWaitSeconds(300, 60, 3600)).toBe(300);
    expect(retryWaitSeconds(5, 86400, 3600)).toBe(3600);
  });
});

describe('job events', () => {
  const job = {
    id: '6f1c2d3e-0000-4000-8000-000000000001',
    status: 'FAILED' as const,
    recipe: 'dub',
    progress: 40,
    stage: 'voice' as const,
    metadata: { order: 'A-1' },
    event_seq: 3,
    error_code: 'voice_failed',
    error_message: 'x'.repeat(50_000),
    created_at: new Date('2026-03-01T11:00:00Z'),
    started_at: new Date('2026-03-01T11:00:01Z'),
    completed_at: new Date('2026-03-01T11:02:00Z'),
    batch_id: null,
    priority: 1,
    cancelled_at: null,
  };

  it('has one stable id per job and type', () => {
    expect(jobEventId('job.completed', job.id)).toBe(jobEventId('job.completed', job.id));
    expect(jobEventId('job.completed', job.id)).not.toBe(jobEventId('job.failed', job.id));
    expect(jobEventId('job.failed', job.id)).toMatch(/^evt_[0-9a-f]{32}$/);
  });

  it('stays under 20 KB, cutting a long failure message', () => {
    const body = jobEventBody('job.failed', job);
    expect(Buffer.byteLength(body)).toBeLessThanOrEqual(MAX_BODY_BYTES);
    const parsed = JSON.parse(body);
    expect(parsed).toMatchObject({
      type: 'job.failed',
      timestamp: '2026-03-01T11:02:00.000Z',
      data: { job_id: job.id, metadata: { order: 'A-1' }, error: { code: 'voice_failed' } },
    });
    expect(parsed.data.error.message).toMatch(/^x+\.\.\.$/);
  });
});
