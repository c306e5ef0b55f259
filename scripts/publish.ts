/**
 * `npm run publish -- <topic> '<json>' [--attribute key=value]... [--wait]`
 *
 * Publishes one message on the local bus of the database `npm start` uses (DATABASE_URL, or the
 * data dir's embedded server, also while the stack runs), as Cloud Scheduler or Cloud Monitoring
 * publish on Pub/Sub: the running stack's bus pushes it to every event function subscribed to the
 * topic, in the same envelope. So an operator fires a maintenance tick, a rotation or a test alert
 * by hand. With --wait it returns once every subscriber has acknowledged the message.
 */
import { parseArgs } from 'node:util';
import type { Knex } from 'knex';
import { localBusTransport } from '../shared/events/local-transport';
import { eventFunctions } from '../shared/platform/manifest';
import { parseMessage, UsageError, type Message } from './publish/message';
import { withDatabase } from './with-database';

const USAGE = "npm run publish -- <topic> '<json>' [--attribute key=value]... [--wait]";
/** Long enough for a sweep or a rotation; a subscriber slower than that is worth looking at. */
const WAIT_SECONDS = 60;

interface BusRow {
  id: string;
  subscription: string;
  attempts: number;
  delivered_at: Date | null;
  dead_lettered_at: Date | null;
  last_error: string | null;
}

function fail(message: string): never {
  console.error(`publish: ${message}`);
  process.exit(1);
}

function readArguments(): { message: Message; wait: boolean } {
  let parsed;
  try {
    parsed = parseArgs({
      allowPositionals: true,
      options: { attribute: { type: 'string', multiple: true, short: 'a' }, wait: { type: 'boolean' } },
    });
  } catch (err) {
    throw new UsageError(`${(err as Error).message} (usage: ${USAGE})`);
  }
  const [topic, json, ...extra] = parsed.positionals;
  if (extra.length > 0) throw new UsageError(`unexpected "${extra[0]}": quote the JSON (usage: ${USAGE})`);
  if (!topic || json === undefined) throw new UsageError(`a topic and a JSON message are required (usage: ${USAGE})`);
  return { message: parseMessage(topic, json, parsed.values.attribute ?? []), wait: parsed.values.wait ?? false };
}

/** One bus row per subscription of the topic, written as the transport writes them for any publisher. */
async function publish(k: Knex, m: Message): Promise<BusRow[]> {
  const insert = localBusTransport(() => k).publishStatement!(k, m.topic, [{ data: m.data, attributes: m.attributes }]);
  const sent: { id: string }[] = await k.with('sent', insert!).select('id').from('sent');
  return busRows(
    k,
    sent.map((r) => r.id),
  );
}

const busRows = (k: Knex, ids: string[]): Promise<BusRow[]> =>
  k('bus_messages')
    .whereIn('id', ids)
    .orderBy('id')
    .select('id', 'subscription', 'attempts', 'delivered_at', 'dead_lettered_at', 'last_error');

async function awaitDelivery(k: Knex, rows: BusRow[]): Promise<BusRow[]> {
  const until = Date.now() + WAIT_SECONDS * 1000;
  for (;;) {
    const now = await busRows(
      k,
      rows.map((r) => r.id),
    );
    if (now.every((r) => r.delivered_at || r.dead_lettered_at) || Date.now() > until) return now;
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function main(): Promise<void> {
  const { message, wait } = readArguments();
  const subscribers = eventFunctions().filter((f) => f.topic === message.topic);
  if (subscribers.length === 0) {
    throw new UsageError(`no function subscribes to ${message.topic} in this build; nothing was published`);
  }
  const started = Date.now();
  const outcome = await withDatabase(async (k) => {
    const rows = await publish(k, message);
    return wait ? awaitDelivery(k, rows) : rows;
  });
  for (const row of outcome) {
    const to = `${message.topic} -> ${row.subscription} (message local-${row.id})`;
    if (!wait) console.log(`published ${to}; the stack's bus delivers it (at once if it runs, else when it starts)`);
    else if (row.delivered_at) {
      console.log(`delivered ${to} in ${((Date.now() - started) / 1000).toFixed(1)} s, attempt ${row.attempts}`);
    } else if (row.dead_lettered_at) fail(`${to} was dead-lettered: ${row.last_error ?? 'no answer'}`);
    else {
      fail(
        `${to} not delivered within ${WAIT_SECONDS} s (${row.last_error ?? 'not yet attempted'}); is the stack running (npm start)?`,
      );
    }
  }
}

main().catch((err) => fail(err instanceof Error ? err.message : String(err)));
