/**
 * The request path's group commit: what waits goes together, in order, each item with its own
 * outcome, and nothing waits longer than its limit.
 */
import { coalesce, type CoalesceOptions } from '../../shared/db/coalesce';

class RowError extends Error {}
class Expired extends Error {}

/** A write whose calls the test finishes by hand, one at a time. */
function heldWrites() {
  const calls: { items: string[]; finish: () => void; fail: (err: unknown) => void }[] = [];
  const write = (items: string[]): Promise<string[]> =>
    new Promise((resolve, reject) => {
      calls.push({
        items,
        finish: () => resolve(items.map((i) => `wrote ${i}`)),
        fail: reject,
      });
    });
  return { calls, write };
}

const OPTIONS: CoalesceOptions = {
  inFlight: 1,
  maxItems: 3,
  maxWaitMs: 1_000,
  expired: () => new Expired('busy'),
  itemError: (err) => err instanceof RowError,
  answersPerTurn: 100,
};

/** Lets settled writes hand their results on and the next write start. */
const turn = () => new Promise((r) => setImmediate(r));

it('writes an item at once, alone, when nothing is in flight', async () => {
  const { calls, write } = heldWrites();
  const add = coalesce(write, OPTIONS);
  const a = add('a');
  expect(calls.map((c) => c.items)).toEqual([['a']]);
  calls[0]!.finish();
  await expect(a).resolves.toBe('wrote a');
  const b = add('b');
  expect(calls.map((c) => c.items)).toEqual([['a'], ['b']]);
  calls[1]!.finish();
  await expect(b).resolves.toBe('wrote b');
});

it('sends what arrived during a write together in the next, in order, at most maxItems at a time', async () => {
  const { calls, write } = heldWrites();
  const add = coalesce(write, OPTIONS);
  const results = ['a', 'b', 'c', 'd', 'e', 'f'].map(add);
  expect(calls.map((c) => c.items)).toEqual([['a']]);
  calls[0]!.finish();
  await turn();
  expect(calls.map((c) => c.items)).toEqual([['a'], ['b', 'c', 'd']]);
  calls[1]!.finish();
  await turn();
  expect(calls.map((c) => c.items)).toEqual([['a'], ['b', 'c', 'd'], ['e', 'f']]);
  calls[2]!.finish();
  await expect(Promise.all(results)).resolves.toEqual(['a', 'b', 'c', 'd', 'e', 'f'].map((i) => `wrote ${i}`));
});

it("writes each item alone again after an item's error, so only that item fails", async () => {
  const add = coalesce(async (items: string[]) => {
    if (items.includes('bad')) throw new RowError(`refused ${items.join(',')}`);
    return items.map((i) => `wrote ${i}`);
  }, OPTIONS);
  const results = await Promise.allSettled(['first', 'good', 'bad', 'fine'].map(add));
  expect(results).toEqual([
    { status: 'fulfilled', value: 'wrote first' },
    { status: 'fulfilled', value: 'wrote good' },
    { status: 'rejected', reason: new RowError('refused bad') },
    { status: 'fulfilled', value: 'wrote fine' },
  ]);
});

it('fails every item of the write with any other error, without writing them again', async () => {
  const { calls, write } = heldWrites();
  const add = coalesce(write, OPTIONS);
  const results = ['a', 'b', 'c'].map((i) => add(i).catch((err: Error) => err.message));
  calls[0]!.finish();
  await turn();
  calls[1]!.fail(new Error('connection refused'));
  expect(await Promise.all(results)).toEqual(['wrote a', 'connection refused', 'connection refused']);
  expect(calls).toHaveLength(2);
});

describe('answers, a few per turn of the event loop', () => {
  const PER_TURN = { ...OPTIONS, maxItems: 10, answersPerTurn: 2 };

  /** Which items have their answer, as it stands once the current turn's promise jobs have run. */
  function answered(adds: Promise<string>[]): () => Promise<number> {
    let count = 0;
    for (const p of adds) void p.then(() => count++);
    return async () => {
      for (let i = 0; i < 10; i++) await Promise.resolve();
      return count;
    };
  }

  /** a to e waiting together behind a first write, which is done and its turn over. */
  async function fiveWaiting() {
    const { calls, write } = heldWrites();
    const add = coalesce(write, PER_TURN);
    const first = add('first');
    const batch = ['a', 'b', 'c', 'd', 'e'].map(add);
    calls[0]!.finish();
    await first;
    await turn();
    return { calls, add, batch };
  }

  it('hands out at most answersPerTurn answers in one turn, the rest in the turns after', async () => {
    const { calls, batch: rest } = await fiveWaiting();
    const count = answered(rest);
    calls[1]!.finish();
    expect(await count()).toBe(2);
    await turn();
    expect(await count()).toBe(4);
    await turn();
    expect(await count()).toBe(5);
    await expect(Promise.all(rest)).resolves.toEqual(['a', 'b', 'c', 'd', 'e'].map((i) => `wrote ${i}`));
  });

  it('begins the next write once the last has handed out all its answers, with what came meanwhile', async () => {
    const { calls, add, batch } = await fiveWaiting();
    calls[1]!.finish();
    const count = answered(batch);
    expect(await count()).toBe(2);
    const late = ['late', 'later'].map(add);
    expect(calls).toHaveLength(2);
    await turn();
    await turn();
    expect(await count()).toBe(5);
    expect(calls.map((c) => c.items)).toEqual([['first'], ['a', 'b', 'c', 'd', 'e'], ['late', 'later']]);
    calls[2]!.finish();
    await expect(Promise.all([...batch, ...late])).resolves.toHaveLength(7);
  });
});

describe('an item waiting behind a write that does not end', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('is refused with expired() once it has waited maxWaitMs, and the queue goes on', async () => {
    const { calls, write } = heldWrites();
    const add = coalesce(write, OPTIONS);
    const stuck = add('stuck');
    const early = add('early').catch((err: unknown) => err);
    jest.advanceTimersByTime(600);
    const later = add('later');
    jest.advanceTimersByTime(400);
    expect(await early).toEqual(new Expired('busy'));
    calls[0]!.finish();
    await expect(stuck).resolves.toBe('wrote stuck');
    for (let i = 0; i < 10; i++) await Promise.resolve(); // the write's result handed on, the next begun
    expect(calls.map((c) => c.items)).toEqual([['stuck'], ['later']]);
    calls[1]!.finish();
    await expect(later).resolves.toBe('wrote later');
  });
});
