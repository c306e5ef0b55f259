import { goalChecks, type Level } from '../../scripts/bench/report';
import type { Summary } from '../../scripts/bench/load';

/** A target's figures over 10 s: `rate` 2xx/s, with the given p99 (ms). */
function summary(rate: number, p99: number, extra: Partial<Summary> = {}): Summary {
  return {
    seconds: 10,
    byStatus: new Map([[202, rate * 10]]),
    answered: rate * 10,
    accepted: rate * 10,
    errors: 0,
    timeouts: 0,
    latency: { p50: p99 / 3, p99, max: p99 * 2 },
    clientCores: 0.2,
    ...extra,
  };
}

const level = (submit: Summary, framework: Summary, connections = 50): Level => ({
  connections,
  rounds: 3,
  seconds: 10,
  submit,
  bare: summary(3000, 40),
  framework,
});

const verdicts = (l: Level): boolean[] => goalChecks(l).map((c) => c.pass);

test('at 50 connections the submit path is held to shares of the framework baseline, not of the bare one', () => {
  // 0.70 of the framework's rate (0.35 of the bare one), p99 1.4 times the framework's.
  expect(verdicts(level(summary(700, 70), summary(1000, 50)))).toEqual([true, true, true]);
  // Too slow, and a p99 over 1.5 times the framework's.
  expect(verdicts(level(summary(600, 80), summary(1000, 50)))).toEqual([false, false, true]);
  // The bounds themselves pass: exactly 2/3 of the rate, exactly 1.5 times the p99.
  expect(verdicts(level(summary(2000, 75), summary(3000, 50)))).toEqual([true, true, true]);
});

test('a refused request, an error or a timeout at 50 connections fails the goal of answering every one', () => {
  const refused = summary(700, 70, {
    answered: 7001,
    byStatus: new Map([
      [202, 7000],
      [503, 1],
    ]),
  });
  expect(verdicts(level(refused, summary(1000, 50)))[2]).toBe(false);
  expect(verdicts(level(summary(700, 70, { timeouts: 1 }), summary(1000, 50)))[2]).toBe(false);
  expect(verdicts(level(summary(700, 70, { errors: 1 }), summary(1000, 50)))[2]).toBe(false);
});

test('a framework baseline that answered nothing fails the shares instead of passing them', () => {
  const silent = summary(0, 0, { latency: undefined });
  expect(verdicts(level(summary(700, 70), silent)).slice(0, 2)).toEqual([false, false]);
});

test('at 200 connections every answer within 2 s, and only 2xx or shedding, pass', () => {
  const shedding = summary(500, 900, {
    answered: 5100,
    byStatus: new Map([
      [202, 5000],
      [503, 100],
    ]),
  });
  expect(verdicts(level(shedding, summary(1000, 200), 200))).toEqual([true, true]);
  const slow = summary(500, 900, { latency: { p50: 300, p99: 1500, max: 2100 } });
  expect(verdicts(level(slow, summary(1000, 200), 200))[0]).toBe(false);
  const failing = summary(500, 900, {
    answered: 5001,
    byStatus: new Map([
      [202, 5000],
      [500, 1],
    ]),
  });
  expect(verdicts(level(failing, summary(1000, 200), 200))[1]).toBe(false);
});
