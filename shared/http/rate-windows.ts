/**
 * Fixed-window request counters for the rate limits: in Redis when REDIS_URL is set (Memorystore
 * in the cloud), so every instance of every function shares them; in this process's memory
 * otherwise. A request is counted in all of its windows at once, and only when every one of them
 * still has room: a refused request costs nothing, so a client hammering a full minute does not
 * eat into its hour.
 *
 * Windows are aligned on the epoch (a minute starts at :00, a day at 00:00 UTC), so a counter's
 * key and its window's end follow from the clock alone, the same in memory and in Redis.
 *
 * A Redis failure never fails a request: it is logged once, and until Redis answers again the
 * counts go to memory without waiting on it (each instance then enforces the limits on its own).
 */
import type Redis from 'ioredis';
import { redis } from '../cache/redis';
import { config } from '../config';
import { logger } from '../log';

export interface WindowSpec {
  /** The policy's name in the RateLimit headers: `minute`, `hour`, `day`. */
  name: string;
  seconds: number;
  /** Requests allowed in one window. */
  limit: number;
}

export interface WindowCount extends WindowSpec {
  /** Requests counted in the current window, this one included when it was allowed. */
  count: number;
  /** Whole seconds until the current window ends (at least 1). */
  resetSeconds: number;
}

export interface Hit {
  allowed: boolean;
  windows: WindowCount[];
}

/**
 * KEYS: one counter per window. ARGV[i]: that window's limit; ARGV[#KEYS + i]: its lifetime in ms.
 * Counts the request in every window only when every window has room. Answers the verdict (1 or 0)
 * followed by each window's count.
 */
const HIT_SCRIPT = `
local counts, allowed = {}, 1
for i = 1, #KEYS do
  counts[i] = tonumber(redis.call('GET', KEYS[i]) or '0')
  if counts[i] >= tonumber(ARGV[i]) then allowed = 0 end
end
if allowed == 1 then
  for i = 1, #KEYS do
    counts[i] = redis.call('INCR', KEYS[i])
    if counts[i] == 1 then redis.call('PEXPIRE', KEYS[i], ARGV[#KEYS + i]) end
  end
end
return {allowed, unpack(counts)}
`;

type Scripted = Redis & { aiprodHitWindows(keyCount: number, ...args: (string | number)[]): Promise<number[]> };

function scripted(client: Redis): Scripted {
  // ioredis sends the script by its SHA and loads it again when Redis has forgotten it.
  if (!('aiprodHitWindows' in client)) client.defineCommand('aiprodHitWindows', { lua: HIT_SCRIPT });
  return client as Scripted;
}

/** A counter outlives its window by this much, so instances whose clocks differ a little agree. */
const KEY_GRACE_MS = 5_000;

/** The client that failed last; until it is ready again, counts go to memory at once. */
let failed: Redis | undefined;

async function countInRedis(
  client: Redis,
  keys: string[],
  windows: WindowSpec[],
  ends: number[],
  at: number,
): Promise<number[] | undefined> {
  try {
    const ttls = ends.map((end) => end - at + KEY_GRACE_MS);
    const reply = await scripted(client).aiprodHitWindows(
      keys.length,
      ...keys,
      ...windows.map((w) => w.limit),
      ...ttls,
    );
    if (failed === client) {
      failed = undefined;
      logger().info('rate limits: counting in Redis again');
    }
    return reply.map(Number);
  } catch (err) {
    if (failed !== client) {
      logger().warn('rate limits: Redis unavailable, counting in memory until it answers', {
        error: err instanceof Error ? err.message : String(err),
      });
    }
    failed = client;
    return undefined;
  }
}

/** Enough for every tenant and caller address of an instance in a day; past it the oldest counter goes. */
const MAX_MEMORY_COUNTERS = 100_000;
const memory = new Map<string, { count: number; expiresAt: number }>();
let nextSweep = 0;

function countInMemory(keys: string[], windows: WindowSpec[], ends: number[], at: number): number[] {
  if (at >= nextSweep) {
    for (const [key, entry] of memory) if (entry.expiresAt <= at) memory.delete(key);
    nextSweep = at + 60_000;
  }
  const counts = keys.map((key) => {
    const entry = memory.get(key);
    return entry && entry.expiresAt > at ? entry.count : 0;
  });
  const allowed = counts.every((count, i) => count < windows[i]!.limit);
  if (!allowed) return [0, ...counts];
  return [
    1,
    ...keys.map((key, i) => {
      const count = counts[i]! + 1;
      if (!memory.has(key) && memory.size >= MAX_MEMORY_COUNTERS) memory.delete(memory.keys().next().value!);
      memory.set(key, { count, expiresAt: ends[i]! });
      return count;
    }),
  ];
}

/**
 * Counts one request of `subject` (a policy and a tenant or address) in each of its windows at
 * `at` (ms since the epoch), unless one of them is full. Counted in memory, the answer comes at
 * once rather than as a promise: the rate limit runs on every request, inside the framework's
 * per-request domain, where each promise pays for its async hooks.
 */
export function hitWindows(subject: string, windows: WindowSpec[], at: number): Hit | Promise<Hit> {
  const prefix = config().AIPROD_RATE_LIMIT_PREFIX;
  const starts = windows.map((w) => Math.floor(at / (w.seconds * 1000)));
  const ends = windows.map((w, i) => (starts[i]! + 1) * w.seconds * 1000);
  // The braces keep one subject's counters in one Redis Cluster slot, as a script needs.
  const keys = windows.map((w, i) => `${prefix}{${subject}}:${w.seconds}:${starts[i]}`);
  const inMemory = (): number[] => countInMemory(keys, windows, ends, at);
  const hit = ([verdict, ...counts]: number[]): Hit => ({
    allowed: verdict === 1,
    windows: windows.map((w, i) => ({
      ...w,
      count: counts[i]!,
      resetSeconds: Math.max(1, Math.ceil((ends[i]! - at) / 1000)),
    })),
  });
  const client = redis();
  if (!client || (client === failed && client.status !== 'ready')) return hit(inMemory());
  return countInRedis(client, keys, windows, ends, at).then((reply) => hit(reply ?? inMemory()));
}
