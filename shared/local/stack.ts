/**
 * The embedded default, assembled: PostgreSQL (embedded unless DATABASE_URL is set), migrations,
 * every HTTP function of the manifest behind one gateway on PORT, every event function on its own
 * port fed by the local push bus, and the every-minute maintenance tick Cloud Scheduler sends in GCP.
 * It stops with the deployed functions' graceful shutdown (lifecycle/shutdown.ts), its own parts
 * added: the bus and the tick stop with the accepting, the bus's deliveries in flight end with the
 * release, and the listeners and the embedded server go last.
 */
import { createServer, RequestListener, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { getTestServer } from '@google-cloud/functions-framework/testing';
import { eventFunctions, httpFunctions, manifest } from '../platform/manifest';
import { config, resetConfig } from '../config';
import { db } from '../db';
import { startLocalPostgres } from '../db/embedded';
import { migrateLatest } from '../db/migrate';
import { LocalPushBus, LocalSubscription } from '../events/local-bus';
import { subscriptionOf } from '../events/local-transport';
import { onShutdown, shutdown } from '../lifecycle/shutdown';
import { logger } from '../log';
import { localStore, resetPlatform, transport } from '../platform';
import { localStorageHandler, type StoredUpload } from '../storage';
import { finalizedMessage, UPLOAD_FINALIZED } from '../uploads/notification';
import { gatewayListener, GatewayRoute, gatewayRoutes, starting } from './gateway';

export interface StackOptions {
  /** Registers one function of the manifest with the functions-framework (functions/index.ts). */
  loadFunction: (name: string) => void | Promise<void>;
  port?: number;
  dataDir?: string;
  /** Seconds between maintenance ticks (Cloud Scheduler's is one minute); 0 turns the tick off. */
  maintenanceSeconds?: number;
  /** Tests shorten the bus's retry backoff; production settings come from the manifest. */
  subscriptionOverrides?: Partial<LocalSubscription>;
}

export interface Stack {
  url: string;
  bus: LocalPushBus;
  stop(): Promise<void>;
}

function listen(server: Server, port: number, host?: string): Promise<number> {
  return new Promise((res, rej) => {
    server.once('error', rej);
    server.listen(port, host, () => res((server.address() as AddressInfo).port));
  });
}

/**
 * What the uploads bucket's notification does in Google Cloud: each object a signed PUT completed
 * is announced on upload-finalized. A failed publish leaves the upload uninspected (its duration
 * unknown, submit then checks nothing of it), never the PUT failed.
 */
const announceUpload = async (object: StoredUpload): Promise<void> => {
  const { data, attributes } = finalizedMessage(object);
  await transport()
    .publish(UPLOAD_FINALIZED, data, attributes)
    .catch((err) => logger().warn('upload-finalized not published; the upload stays uninspected', { error: err }));
};

const close = (server: Server): Promise<void> =>
  new Promise((res) => {
    server.close(() => res());
    server.closeAllConnections();
  });

export async function startStack(opts: StackOptions): Promise<Stack> {
  const dataDir = resolve(opts.dataDir ?? process.env.AIPROD_DATA_DIR ?? '.aiprod');
  process.env.AIPROD_DATA_DIR = dataDir;
  const pg = process.env.DATABASE_URL ? undefined : await startLocalPostgres(dataDir);
  if (pg) process.env.DATABASE_URL = pg.url;

  // The port must be known before the functions are configured, so the gateway listens first;
  // until they are mounted, it answers 503 with Retry-After instead of holding the connection.
  let serve: RequestListener = starting;
  const gateway = createServer((req, res) => serve(req, res));
  const port = await listen(gateway, opts.port ?? Number(process.env.PORT ?? 8080));
  process.env.PORT = String(port);
  process.env.AIPROD_PUBLIC_URL ??= `http://localhost:${port}`;
  resetConfig();
  resetPlatform();
  config();

  await migrateLatest(db());

  for (const fn of manifest) await opts.loadFunction(fn.name);

  const routes = gatewayRoutes(
    httpFunctions(),
    (fn) => getTestServer(fn.name).listeners('request')[0] as GatewayRoute['listener'],
  );
  const store = localStore();
  serve = gatewayListener(routes, [
    { prefix: '/_storage/', listener: localStorageHandler(store, { onStored: announceUpload }) },
  ]);

  const eventServers: Server[] = [];
  const subscriptions: LocalSubscription[] = [];
  for (const fn of eventFunctions()) {
    const server = getTestServer(fn.name);
    const fnPort = await listen(server, 0, '127.0.0.1');
    eventServers.push(server);
    subscriptions.push({
      name: subscriptionOf(fn.name),
      topic: fn.topic,
      endpoint: `http://127.0.0.1:${fnPort}`,
      ackDeadlineSeconds: fn.ackDeadlineSeconds,
      maxDeliveryAttempts: fn.maxDeliveryAttempts,
      minBackoffSeconds: fn.minBackoffSeconds,
      maxBackoffSeconds: fn.maxBackoffSeconds,
      // A laptop has a few cores, not a fleet: media jobs run two at a time.
      concurrency: Math.min(fn.maxInstances, fn.cpu === '1' ? 4 : 2),
      ...opts.subscriptionOverrides,
    });
  }
  const bus = new LocalPushBus(db(), subscriptions, config().GOOGLE_CLOUD_PROJECT);
  const workers = config().AIPROD_LOCAL_WORKERS;
  if (workers) bus.start();

  const tickSeconds = workers ? (opts.maintenanceSeconds ?? 60) : 0;
  const tick =
    tickSeconds > 0
      ? setInterval(() => {
          transport()
            .publish('maintenance', { action: 'sweep' }, {})
            .catch((err) => logger().warn('maintenance tick failed', { error: err }));
        }, tickSeconds * 1000)
      : undefined;

  let busStopped = Promise.resolve();
  const ownParts = [
    onShutdown('stop-accepting', () => {
      clearInterval(tick);
      busStopped = bus.stop();
    }),
    // A released job's delivery answers at once; the others get what is left of the deadline.
    onShutdown('release', () => busStopped),
    onShutdown('teardown', async () => {
      await Promise.all([close(gateway), ...eventServers.map(close)]);
      await pg?.stop();
    }),
  ];

  return {
    url: `http://127.0.0.1:${port}`,
    bus,
    async stop() {
      await shutdown('local stack stopped');
      for (const remove of ownParts) remove();
    },
  };
}
