/**
 * A client that connects while the local stack is still starting (a script polling /health right
 * after `npm start`) is answered at once, 503 with Retry-After, never left hanging.
 */
import { loadFunction } from '../../functions';
import { startStack, Stack } from '../../shared/local/stack';
import { freePort } from '../../shared/net/free-port';
import { closeTestEnv, useTestEnv } from '../support/database';

let stack: Stack | undefined;

beforeAll(async () => {
  await useTestEnv({ AIPROD_LOCAL_WORKERS: '0' });
});

afterAll(async () => {
  await stack?.stop();
  await closeTestEnv();
});

it('answers 503 with Retry-After during start-up, then serves', async () => {
  const port = await freePort();
  const during: { status: number; retryAfter: string | null; code: string }[] = [];
  let asked = false;
  stack = await startStack({
    port,
    maintenanceSeconds: 0,
    // The gateway listens already while functions load: ask it then, once.
    loadFunction: async (name) => {
      if (!asked) {
        asked = true;
        const res = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(5000) });
        during.push({
          status: res.status,
          retryAfter: res.headers.get('retry-after'),
          code: ((await res.json()) as any).code,
        });
      }
      loadFunction(name);
    },
  });
  expect(during).toEqual([{ status: 503, retryAfter: '1', code: 'starting' }]);
  const ready = await fetch(`${stack.url}/health`, { signal: AbortSignal.timeout(5000) });
  expect(ready.status).toBe(200);
});
