/**
 * The baselines of `npm run bench:submit`: express and a pg pool, one endpoint that inserts one
 * row (a UUID and the JSON body) and answers 202 with JSON. No auth, no validation, no outbox: the
 * floor of what any submit endpoint on the same database, with the same pool size, can do.
 * With BENCH_FRAMEWORK=1, the same app is served as every HTTP function of the stack is: registered
 * with the functions-framework and reached through the server it builds, the floor of any
 * function written on it.
 *
 * Environment: DATABASE_URL, PORT, DATABASE_POOL_MAX (as the stack reads it), BENCH_TABLE (the
 * scratch table, made and dropped by the bench), BENCH_FRAMEWORK.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import express from 'express';
import { http } from '@google-cloud/functions-framework';
import { getTestServer } from '@google-cloud/functions-framework/testing';

/** The part of pg's Pool used here (pg ships no type declarations and @types/pg is not installed). */
interface PgPool {
  query(text: string, values?: unknown[]): Promise<unknown>;
  end(): Promise<void>;
}
const { Pool } = require('pg') as { Pool: new (config: { connectionString: string; max: number }) => PgPool };

function env(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is required`);
  return value;
}

const table = env('BENCH_TABLE');
if (!/^[a-z_][a-z0-9_]*$/.test(table)) throw new Error('BENCH_TABLE must be a plain lower-case identifier');
const pool = new Pool({ connectionString: env('DATABASE_URL'), max: Number(process.env.DATABASE_POOL_MAX ?? 10) });
const insert = `INSERT INTO ${table} (id, body) VALUES ($1, $2)`;

const framework = process.env.BENCH_FRAMEWORK === '1';
const app = express();
app.disable('x-powered-by');
// The framework has parsed the body already, as it does for the stack's functions.
if (!framework) app.use(express.json({ limit: '256kb' }));
app.get('/health', async (_req, res) => {
  await pool.query('SELECT 1');
  res.json({ status: 'ok' });
});
app.post('/pipeline/run', async (req, res) => {
  const id = randomUUID();
  await pool.query(insert, [id, JSON.stringify(req.body)]);
  res.status(202).json({ job_id: id, status: 'PENDING' });
});

function serve(): Server {
  if (!framework) return createServer(app);
  http('bench-framework-floor', app);
  return getTestServer('bench-framework-floor');
}
const server = serve();
server.once('error', (err) => {
  console.error(`baseline: ${err.message}`);
  process.exit(1);
});
server.listen(Number(env('PORT')), '127.0.0.1');

let stopping = false;
function stop(): void {
  if (stopping) return;
  stopping = true;
  server.close();
  server.closeAllConnections();
  pool.end().then(
    () => process.exit(0),
    () => process.exit(1),
  );
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
// The bench went away without stopping this process: do not outlive it.
process.once('disconnect', stop);
