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
     process.stdout.write(typeof getFunction(${JSON.stringify(name)}));
     process.exit(0); // a configured Redis client would otherwise keep the probe alive`,
  );
  const out = execFileSync(process.execPath, [probe], {
    env: { ...process.env, NODE_PATH: join(root, 'node_modules') },
    encoding: 'utf8',
  });
  expect(out).toBe('function');
});

it('gives the ffmpeg binaries to the media function only', () => {
  const deps = (name: string) =>
    Object.keys(JSON.parse(readFileSync(join(root, 'dist/functions', name, 'package.json'), 'utf8')).dependencies);
  expect(deps('job-processor')).toEqual(expect.arrayContaining(['ffmpeg-static', '@ffprobe-installer/ffprobe']));
  for (const fn of manifest.filter((f) => f.name !== 'job-processor'))
    expect(deps(fn.name)).toEqual(['@google-cloud/functions-framework']);
});
