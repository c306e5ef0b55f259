/**
 * `npm run build`: one zip per manifest function whose bundle loads on its own and registers the
 * function under its name, as the Cloud Functions runtime will look it up.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { manifest } from '../../shared/platform/manifest';

const root = join(__dirname, '../..');
/** The Google API clients (and their gRPC) a function loads on first use, never at import. */
const LOADED_LATER =
  /node_modules\/(@google-cloud\/(pubsub|storage|logging|logging-winston|text-to-speech)|@grpc|google-gax)\//;

beforeAll(() => {
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: root, stdio: 'pipe' });
}, 120_000);

it.each(manifest.map((f) => [f.name, f.kind]))('%s: the bundle registers the %s function', (name) => {
  const dir = mkdtempSync(join(tmpdir(), `aiprod-bundle-${name}-`));
  expect(statSync(join(root, 'dist/functions', `${name}.zip`)).size).toBeGreaterThan(0);
  for (const file of ['index.js', 'package.json'])
    copyFileSync(join(root, 'dist/functions', name, file), join(dir, file));
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  expect(pkg.main).toBe('index.js');
  expect(Object.keys(pkg.dependencies)).toContain('@google-cloud/functions-framework');
  // Only the runtime dependencies resolve from outside the bundle, as after the function's own install.
  const probe = join(dir, 'probe.js');
  writeFileSync(
    probe,
    `require('./index.js');
     const { getFunction } = require('@google-cloud/functions-framework/testing');
     const loaded = Object.keys(require.cache).filter((f) => ${LOADED_LATER.toString()}.test(f));
     process.stdout.write(JSON.stringify({ kind: typeof getFunction(${JSON.stringify(name)}), loaded }));
     process.exit(0); // a configured Redis client would otherwise keep the probe alive`,
  );
  const out = execFileSync(process.execPath, [probe], {
    env: { ...process.env, NODE_PATH: join(root, 'node_modules') },
    encoding: 'utf8',
  });
  const { kind, loaded } = JSON.parse(out) as { kind: string; loaded: string[] };
  expect(kind).toBe('function');
  // Loading the function is a cold start's first cost: the clients it may never use wait for first use.
  expect(loaded.map((f) => f.replace(/.*node_modules\//, ''))).toEqual([]);
});

interface Package {
  dependencies: Record<string, string>;
}

const dependencies = (name: string): string[] =>
  Object.keys(
    (JSON.parse(readFileSync(join(root, 'dist/functions', name, 'package.json'), 'utf8')) as Package).dependencies,
  );

it("installs with each function exactly the project's packages its bundle requires from outside", () => {
  const ours = Object.keys((JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as Package).dependencies);
  for (const fn of manifest) {
    const code = readFileSync(join(root, 'dist/functions', fn.name, 'index.js'), 'utf8');
    // Outside requires that are not ours are knex's optional drivers, which a deployed function never loads.
    const required = new Set([...code.matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1]!));
    const outside = ours.filter((dep) => required.has(dep));
    expect({ fn: fn.name, deps: dependencies(fn.name).sort() }).toEqual({ fn: fn.name, deps: outside.sort() });
  }
});

it('gives the ffmpeg binaries to the media function only', () => {
  expect(dependencies('job-processor')).toEqual(
    expect.arrayContaining(['ffmpeg-static', '@ffprobe-installer/ffprobe']),
  );
  for (const fn of manifest.filter((f) => f.name !== 'job-processor'))
    expect(dependencies(fn.name)).not.toEqual(expect.arrayContaining(['ffmpeg-static']));
});
