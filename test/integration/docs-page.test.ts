/**
 * GET /docs in headless Chromium on the local stack: the page renders every operation of the
 * document (as many as the document has, on the same paths), logs no error, breaks none of its
 * Content-Security-Policy, and asks nothing of any origin but its own. Chromium comes from
 * CHROMIUM_BIN, /usr/bin/chromium or the PATH; under CI=true a missing one fails the test.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import type { Stack } from '../../shared/local/stack';
import { buildOpenApiDocument } from '../../shared/openapi/document';
import { closeTestEnv, type TestEnv, useTestEnv } from '../support/database';
import { startTestStack } from '../support/stack';

function findChromium(): string | undefined {
  if (process.env.CHROMIUM_BIN) return process.env.CHROMIUM_BIN;
  if (existsSync('/usr/bin/chromium')) return '/usr/bin/chromium';
  for (const name of ['chromium', 'chromium-browser', 'google-chrome']) {
    try {
      return execFileSync('which', [name], { encoding: 'utf8' }).trim() || undefined;
    } catch {
      // not on the PATH under this name
    }
  }
  return undefined;
}

const executablePath = findChromium();
const ci = process.env.CI === 'true';
// Without Chromium the page cannot be proven; only a developer's machine may skip for want of one.
const maybe = executablePath || ci ? it : it.skip;

const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

let env: TestEnv;
let stack: Stack;

beforeAll(async () => {
  env = await useTestEnv();
  stack = await startTestStack(env);
});

afterAll(async () => {
  await stack.stop();
  await closeTestEnv();
});

maybe(
  'renders every operation of the document, with no console error and no request to another origin',
  async () => {
    if (!executablePath)
      throw new Error('Chromium not found: install it or set CHROMIUM_BIN (CI=true never skips this)');
    const doc = buildOpenApiDocument();
    const operations = Object.entries(doc.paths ?? {}).flatMap(([path, item]) =>
      Object.keys(item as object).map((method) => `${method.toUpperCase()} ${path}`),
    );
    const userDataDir = mkdtempSync(join(tmpdir(), 'aiprod-chromium-'));
    const context = await chromium.launchPersistentContext(userDataDir, { executablePath, headless: true, args: ARGS });
    try {
      const origin = new URL(stack.url).origin;
      const requests: string[] = [];
      const problems: string[] = [];
      context.on('request', (r) => requests.push(r.url()));
      const page = context.pages()[0] ?? (await context.newPage());
      page.on('console', (m) => {
        if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`);
      });
      page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));

      const res = await page.goto(`${stack.url}/docs`);
      expect(res?.status()).toBe(200);
      expect(res?.headers()['content-security-policy']).toMatch(/default-src 'none'/);
      expect(res?.headers()['content-security-policy']).not.toMatch(/unsafe-eval/);
      await page.waitForFunction((n) => document.querySelectorAll('.opblock').length === n, operations.length, {
        timeout: 60_000,
      });
      const rendered = await page.$$eval('.opblock', (blocks) =>
        blocks.map((b) => {
          const method = b.querySelector('.opblock-summary-method')?.textContent ?? '';
          const path = b.querySelector('.opblock-summary-path')?.getAttribute('data-path') ?? '';
          return `${method} ${path}`;
        }),
      );
      expect(rendered.sort()).toEqual(operations.sort());
      expect(await page.title()).toBe('AIPROD API reference');

      expect(problems).toEqual([]);
      expect(requests.filter((u) => new URL(u).origin !== origin && !u.startsWith('data:'))).toEqual([]);
      // The page fetched the document itself.
      expect(requests).toContain(`${origin}/openapi.json`);
    } finally {
      await context.close();
      rmSync(userDataDir, { recursive: true, force: true });
    }
  },
  120_000,
);
