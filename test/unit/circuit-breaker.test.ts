import { execFileSync } from 'node:child_process';
import { parseConfig } from '../../shared/config';
import { logger } from '../../shared/log';
import { registry } from '../../shared/metrics/registry';
import {
  BreakerOpenError,
  breakerSettings,
  circuitBreaker,
  grpcStatusName,
  isTransientError,
  type Breaker,
  type BreakerSettings,
} from '../../shared/resilience';
import { breakerSeries, breakerState, untilBreakerState } from '../support/breaker-metrics';

/** The dependency's trouble, as the breakers below are told to count it. */
class Outage extends Error {}
/** A refusal of the caller's request: the dependency answered. */
class BadInput extends Error {}

/** A breaker's reset is short so half-open comes soon; the window is long so nothing rolls out of it mid-test. */
const SETTINGS: BreakerSettings = { failurePercent: 50, minCalls: 3, windowMs: 60_000, resetMs: 50 };

let seq = 0;
function breaker(settings: Partial<BreakerSettings> = {}): Breaker {
  seq += 1;
  return circuitBreaker({
    name: `test:dependency-${seq}`,
    isFailure: (err) => err instanceof Outage,
    settings: { ...SETTINGS, ...settings },
  });
}

/** A call to the dependency, counted, answering as `outcome` says. */
function dependency(outcome: () => 'ok' | 'outage' | 'bad-input') {
  const calls = { made: 0 };
  const call = async (): Promise<string> => {
    calls.made += 1;
    const o = outcome();
    if (o === 'outage') throw new Outage('overloaded');
    if (o === 'bad-input') throw new BadInput('refused');
    return 'answer';
  };
  return { calls, call };
}

const rejection = (p: Promise<unknown>): Promise<unknown> =>
  p.then(
    () => undefined,
    (err: unknown) => err,
  );

describe('circuit breaker settings', () => {
  const base = { DATABASE_URL: 'postgres://u:p@127.0.0.1:5432/db' };

  it('come from configuration, with defaults', () => {
    expect(breakerSettings(parseConfig(base))).toEqual({
      failurePercent: 50,
      minCalls: 10,
      windowMs: 60_000,
      resetMs: 30_000,
    });
    const tuned = parseConfig({
      ...base,
      AIPROD_BREAKER_FAILURE_PERCENT: '25',
      AIPROD_BREAKER_MIN_CALLS: '4',
      AIPROD_BREAKER_WINDOW_SECONDS: '30',
      AIPROD_BREAKER_RESET_MS: '200',
    });
    expect(breakerSettings(tuned)).toEqual({ failurePercent: 25, minCalls: 4, windowMs: 30_000, resetMs: 200 });
  });

  it.each([
    ['AIPROD_BREAKER_FAILURE_PERCENT', '100'],
    ['AIPROD_BREAKER_MIN_CALLS', '0'],
    ['AIPROD_BREAKER_WINDOW_SECONDS', 'a minute'],
    ['AIPROD_BREAKER_RESET_MS', '5'],
  ])('refuses %s=%s', (name, value) => {
    expect(() => parseConfig({ ...base, [name]: value })).toThrow(new RegExp(`invalid configuration: .*${name}`));
  });
});

describe('circuit breaker', () => {
  it('passes calls and their answers through while closed', async () => {
    const b = breaker();
    const dep = dependency(() => 'ok');
    await expect(b.run(dep.call)).resolves.toBe('answer');
    expect(b.state).toBe('closed');
    expect(dep.calls.made).toBe(1);
  });

  it('opens after the threshold, then refuses calls without making them', async () => {
    const b = breaker();
    const dep = dependency(() => 'outage');
    for (let i = 0; i < SETTINGS.minCalls; i++) await expect(b.run(dep.call)).rejects.toBeInstanceOf(Outage);
    expect(b.state).toBe('open');
    const err = await rejection(b.run(dep.call));
    expect(err).toBeInstanceOf(BreakerOpenError);
    expect(err).toMatchObject({ breaker: b.name, state: 'open' });
    expect(dep.calls.made).toBe(SETTINGS.minCalls);
  });

  it('stays closed below the minimum number of calls, and at a failure share not above the threshold', async () => {
    const few = breaker();
    const failing = dependency(() => 'outage');
    for (let i = 0; i < SETTINGS.minCalls - 1; i++) await expect(few.run(failing.call)).rejects.toBeInstanceOf(Outage);
    expect(few.state).toBe('closed');

    const half = breaker();
    let n = 0;
    const alternating = dependency(() => (n++ % 2 === 0 ? 'ok' : 'outage'));
    for (let i = 0; i < 10; i++) await rejection(half.run(alternating.call));
    expect(half.state).toBe('closed');
    expect(alternating.calls.made).toBe(10);
  });

  it("never opens on the caller's bad input: the dependency answered", async () => {
    const b = breaker();
    const dep = dependency(() => 'bad-input');
    for (let i = 0; i < 10; i++) await expect(b.run(dep.call)).rejects.toBeInstanceOf(BadInput);
    expect(b.state).toBe('closed');
    expect(dep.calls.made).toBe(10);
    expect(await breakerSeries('aiprod_circuit_breaker_failures_total', b.name)).toBe(0);
  });

  it('lets one trial call through when half-open, and closes when it succeeds', async () => {
    const b = breaker();
    let outcome: 'ok' | 'outage' = 'outage';
    const dep = dependency(() => outcome);
    for (let i = 0; i < SETTINGS.minCalls; i++) await rejection(b.run(dep.call));
    expect(b.state).toBe('open');
    outcome = 'ok';
    await untilBreakerState(b.name, 1);
    expect(b.state).toBe('half_open');

    // The trial is under way (its answer held back): a second call is refused, not made.
    let answer!: () => void;
    const held = new Promise<void>((resolve) => (answer = resolve));
    const trial = b.run(async () => {
      await held;
      return dep.call();
    });
    const second = await rejection(b.run(dep.call));
    expect(second).toMatchObject({ name: 'BreakerOpenError', state: 'half_open' });
    answer();
    await expect(trial).resolves.toBe('answer');
    expect(b.state).toBe('closed');
    expect(dep.calls.made).toBe(SETTINGS.minCalls + 1);
    await expect(b.run(dep.call)).resolves.toBe('answer');
  });

  it('opens again when the trial call fails', async () => {
    const b = breaker();
    const dep = dependency(() => 'outage');
    for (let i = 0; i < SETTINGS.minCalls; i++) await rejection(b.run(dep.call));
    await untilBreakerState(b.name, 1);
    await expect(b.run(dep.call)).rejects.toBeInstanceOf(Outage);
    expect(b.state).toBe('open');
    await expect(b.run(dep.call)).rejects.toBeInstanceOf(BreakerOpenError);
    expect(dep.calls.made).toBe(SETTINGS.minCalls + 1);
    expect(await breakerSeries('aiprod_circuit_breaker_opened_total', b.name)).toBe(2);
  });

  it('reports its state and counts in the registry', async () => {
    const b = breaker();
    expect(await breakerState(b.name)).toBe(0);
    expect(await breakerSeries('aiprod_circuit_breaker_rejected_calls_total', b.name)).toBe(0);
    const dep = dependency(() => 'outage');
    for (let i = 0; i < SETTINGS.minCalls; i++) await rejection(b.run(dep.call));
    for (let i = 0; i < 4; i++) await rejection(b.run(dep.call));
    expect(await breakerState(b.name)).toBe(2);
    expect(await breakerSeries('aiprod_circuit_breaker_failures_total', b.name)).toBe(SETTINGS.minCalls);
    expect(await breakerSeries('aiprod_circuit_breaker_rejected_calls_total', b.name)).toBe(4);
    expect(await breakerSeries('aiprod_circuit_breaker_opened_total', b.name)).toBe(1);
  });

  it('logs each change of state once, not each refused call', async () => {
    const log = logger();
    const warn = jest.spyOn(log, 'warn');
    const info = jest.spyOn(log, 'info');
    try {
      const b = breaker();
      let outcome: 'ok' | 'outage' = 'outage';
      const dep = dependency(() => outcome);
      for (let i = 0; i < SETTINGS.minCalls; i++) await rejection(b.run(dep.call));
      for (let i = 0; i < 20; i++) await rejection(b.run(dep.call));
      outcome = 'ok';
      await untilBreakerState(b.name, 1);
      await b.run(dep.call);
      /** The calls a spy saw about this breaker, as [message, meta]. */
      const about = (spy: jest.SpyInstance): [string, Record<string, unknown>][] =>
        (spy.mock.calls as [string, Record<string, unknown>?][])
          .filter(([, meta]) => meta?.breaker === b.name)
          .map(([message, meta]) => [message, meta!]);
      expect(about(warn)).toEqual([
        [
          'circuit breaker opened: calls are refused',
          {
            event: 'circuit_breaker.opened',
            breaker: b.name,
            failures: SETTINGS.minCalls,
            calls: SETTINGS.minCalls,
            retryInMs: SETTINGS.resetMs,
          },
        ],
      ]);
      expect(about(info)).toEqual([
        [
          'circuit breaker half-open: one trial call goes through',
          { event: 'circuit_breaker.half_open', breaker: b.name },
        ],
        ['circuit breaker closed: calls go through', { event: 'circuit_breaker.closed', breaker: b.name }],
      ]);
    } finally {
      warn.mockRestore();
      info.mockRestore();
    }
  });

  it('renders metrics that promtool accepts', async () => {
    const b = breaker();
    await rejection(b.run(dependency(() => 'outage').call));
    const text = await registry.metrics();
    expect(text).toContain(`aiprod_circuit_breaker_state{breaker="${b.name}"} 0`);
    // promtool exits non-zero on any naming or format problem and prints it.
    expect(() => execFileSync('promtool', ['check', 'metrics'], { input: text, stdio: 'pipe' })).not.toThrow();
  });
});

describe('transient errors', () => {
  it.each([
    [{ code: 503 }, true],
    [{ code: 429 }, true],
    [{ code: 408 }, true],
    [{ code: 404 }, false],
    [{ code: 403 }, false],
    [{ code: 14 }, true],
    [{ code: 4 }, true],
    [{ code: 8 }, true],
    [{ code: 5 }, false],
    [{ code: 7 }, false],
    [{ code: 3 }, false],
    [{ code: 'ECONNRESET' }, true],
    [{ code: 'EACCES' }, false],
    [{ code: 'object_not_found' }, false],
    [Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } }), true],
    [new DOMException('The operation timed out.', 'TimeoutError'), true],
    [new Error('no code at all'), false],
    [undefined, false],
  ])('%j is transient: %s', (err, transient) => {
    expect(isTransientError(err)).toBe(transient);
  });

  it('names gRPC codes', () => {
    expect(grpcStatusName(14)).toBe('UNAVAILABLE');
    expect(grpcStatusName(5)).toBe('NOT_FOUND');
    expect(grpcStatusName(99)).toBe('99');
  });
});
