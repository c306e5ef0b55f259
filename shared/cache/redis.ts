/**
 * The shared Redis client (Memorystore in GCP), when REDIS_URL is set. Commands time out quickly
 * while Redis is away, so callers fall back instead of hanging a request.
 */
import type Redis from 'ioredis';
import { config } from '../config';
import { logger } from '../log';
import { onShutdown } from '../lifecycle/shutdown';

let client: Redis | null | undefined;

export function redis(): Redis | null {
  if (client !== undefined) return client;
  const url = config().REDIS_URL;
  if (!url) return (client = null);
  const { REDIS_AUTH, REDIS_CA_CERT } = config();
  // Loaded here, not at import: a function without REDIS_URL never pays for the client.
  const IORedis = require('ioredis') as typeof import('ioredis').default;
  client = new IORedis(url, {
    maxRetriesPerRequest: 1,
    commandTimeout: 500,
    connectTimeout: 2000,
    ...(REDIS_AUTH ? { password: REDIS_AUTH } : {}),
    // Memorystore's server certificate is signed by its own CA, not a public one.
    ...(url.startsWith('rediss:') ? { tls: REDIS_CA_CERT ? { ca: REDIS_CA_CERT } : {} } : {}),
  });
  client.on('error', (err) => logger().warn('redis error', { error: err.message }));
  return client;
}

export async function closeRedis(): Promise<void> {
  if (client) await client.quit().catch(() => undefined);
  client = undefined;
}

onShutdown('close', closeRedis);
