/**
 * `npm run bench:cold [-- --rounds N --strict]`: a scale-from-zero request's wait, per function. Each
 * function of the manifest is built as it is deployed (`npm run build`), then started as Cloud Run
 * starts it (the functions-framework's own entry point on the built source) and timed from the
 * process's spawn to its first response, beside a functions-framework hello world started the same
 * way. The targets take turns within each round, so a slow spell on the machine hits all alike; the
 * median of the rounds is reported. Goal: every function within 1.5x the hello world. A missed goal
 * prints FAIL and still exits 0, unless --strict.
 *
 * The first request carries no credentials (an HTTP function answers 401 or its public answer, an
 * event function takes an empty event), so what is timed is loading the bundle and answering, not a
 * database round trip.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { freePort } from '../shared/net/free-port';
import { manifest, type ManifestEntry } from '../shared/platform/manifest';
import { machineLines } from './bench/report';

const GOAL_RATIO = 1.5;
/** A target that has not answered by then is reported as failed, not waited for. */
const START_TIMEOUT_MS = 15_000;
const root = join(__dirname, '..');
const built = join(root, 'dist', 'functions');
const frameworkMain = join(dirname(require.resolve('@google-cloud/functions-framework')), 'main.js');

interface Target {
  name: string;
  source: string;
  method: string;
  path: string;
}

function targetOf(fn: ManifestEntry): Target {
  const source = join(built, fn.name);
  if (fn.kind === 'event') return { name: fn.name, source, method: 'POST', path: '/' };
  return { name: fn.name, source, method: fn.method, path: fn.paths[0]!.replace(/\{[^}]+\}/g, randomUUID()) };
}

function helloWorld(): Target {
  const source = join(root, 'dist', 'bench-cold', 'hello');
  mkdirSync(source, { recursive: true });
  writeFileSync(
    join(source, 'index.js'),
    "require('@google-cloud/functions-framework').http('hello', (req, res) => res.send('ok'));\n",
  );
  return { name: 'hello', source, method: 'GET', path: '/' };
}

/** One answer, or undefined while nothing listens yet. */
function ask(port: number, target: Target): Promise<number | undefined> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, method: target.method, path: target.path }, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.on('error', () => resolve(undefined));
    req.setHeader('content-type', 'application/json');
    req.end(target.method === 'GET' ? undefined : '{}');
  });
}

/** Milliseconds from spawning the target's process to its first response. */
async function coldStart(target: Target, dataDir: string): Promise<number> {
  const port = await freePort();
  const started = process.hrtime.bigint();
  const child = spawn(
    process.execPath,
    [frameworkMain, `--target=${target.name}`, `--source=${target.source}`, `--port=${port}`],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: 'production', AIPROD_DATA_DIR: dataDir },
    },
  );
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`${target.name} exited before answering: ${stderr.trim()}`);
      const status = await ask(port, target);
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      if (status !== undefined) return ms;
      if (ms > START_TIMEOUT_MS) throw new Error(`${target.name} did not answer within ${START_TIMEOUT_MS} ms`);
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  } finally {
    child.kill('SIGKILL');
    await exited;
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { rounds: { type: 'string', default: '5' }, strict: { type: 'boolean', default: false } },
  });
  const rounds = Number(values.rounds);
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error('--rounds must be a positive integer');

  console.log('building the functions (npm run build)...');
  const build = spawnSync(process.execPath, [require.resolve('tsx/cli'), join(root, 'scripts', 'build-functions.ts')], {
    cwd: root,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  if (build.status !== 0) throw new Error('npm run build failed');

  const targets = [helloWorld(), ...manifest.map(targetOf)];
  const dataDir = mkdtempSync(join(tmpdir(), 'aiprod-bench-cold-'));
  const times = new Map<string, number[]>(targets.map((t) => [t.name, []]));
  try {
    for (let round = 1; round <= rounds; round++) {
      process.stdout.write(`round ${round}/${rounds}\r`);
      for (const target of targets) times.get(target.name)!.push(await coldStart(target, dataDir));
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }

  const hello = median(times.get('hello')!);
  let failed = 0;
  console.log(
    `\n| function | first response, median of ${rounds} (ms) | min-max (ms) | x hello world | goal <= ${GOAL_RATIO}x |`,
  );
  console.log('| --- | ---: | ---: | ---: | --- |');
  for (const target of targets) {
    const t = times.get(target.name)!;
    const m = median(t);
    const ratio = m / hello;
    const pass = target.name === 'hello' || ratio <= GOAL_RATIO;
    if (!pass) failed++;
    const range = `${Math.min(...t).toFixed(0)}-${Math.max(...t).toFixed(0)}`;
    const verdict = target.name === 'hello' ? 'baseline' : pass ? 'PASS' : 'FAIL';
    console.log(`| ${target.name} | ${m.toFixed(0)} | ${range} | ${ratio.toFixed(2)} | ${verdict} |`);
  }
  console.log('');
  console.log(failed === 0 ? `PASS: every function within ${GOAL_RATIO}x` : `FAIL: ${failed} above ${GOAL_RATIO}x`);
  console.log(machineLines('no database: the first request needs none')[0]);
  if (failed > 0 && values.strict) process.exitCode = 1;
}

main().catch((err: unknown) => {
  console.error(`bench:cold: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
