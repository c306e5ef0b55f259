/**
 * `npm run build`: one zip per manifest function whose bundle loads on its own and registers the
 * function under its name, as the Cloud Functions runtime will look it up.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderOpenApiJson } from '../../shared/openapi/document';
import { manifest } from '../../shared/platform/manifest';

const root = join(__dirname, '../..');
/** The Google API clients (and their gRPC) a function loads on first use, never at import. */
const LOADED_LATER =
  /node_modules\/(@google-cloud\/(pubsub|storage|logging|logging-winston|text-to-speech|secret-manager|kms)|@grpc|google-gax)\//;

beforeAll(() => {
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: root, stdio: 'pipe' });
}, 120_000);

it.each(manifest.map((f) => [f.name, f.kind]))('%s: the bundle registers the %s function', (name) => {
  const dir = mkdtempSync(join(tmpdir(), `aiprod-bundle-${name}-`));
  expect(statSync(join(root, 'dist/functions', `${name}.zip`)).size).toBeGreaterThan(0);
  cpSync(join(root, 'dist/functions', name), dir, { recursive: true });
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

/** The function's code: its bundle and the lazy files beside it. */
const code = (name: string): string =>
  ['index.js', ...lazyFiles(name)].map((f) => readFileSync(join(root, 'dist/functions', name, f), 'utf8')).join('\n');

const lazyFiles = (name: string): string[] => {
  const dir = join(root, 'dist/functions', name, 'lazy');
  return existsSync(dir) ? readdirSync(dir).map((f) => `lazy/${f}`) : [];
};

it("installs with each function exactly the project's packages its bundle requires from outside", () => {
  const ours = Object.keys((JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as Package).dependencies);
  for (const fn of manifest) {
    // Outside requires that are not ours are knex's optional drivers, which a deployed function never loads.
    const required = new Set([...code(fn.name).matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1]!));
    const outside = ours.filter((dep) => required.has(dep));
    expect({ fn: fn.name, deps: dependencies(fn.name).sort() }).toEqual({ fn: fn.name, deps: outside.sort() });
  }
});

it('loads the packages required on first use from the files beside the bundle, without them installed', () => {
  // scripts/build-functions.ts's LAZY_PACKAGES.
  const lazy = ['knex', 'ioredis', 'jose', 'winston', 'prom-client', 'express-rate-limit'];
  for (const fn of manifest) {
    const files = lazyFiles(fn.name);
    // The bundle itself holds none of them: it requires each from its lazy file.
    const bundle = readFileSync(join(root, 'dist/functions', fn.name, 'index.js'), 'utf8');
    const required = [...bundle.matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1]!);
    expect({
      fn: fn.name,
      required: required.filter((r) => lazy.some((p) => r === p || r.startsWith(`${p}/`))),
    }).toEqual({
      fn: fn.name,
      required: [],
    });
    if (files.length === 0) continue;
    const dir = mkdtempSync(join(tmpdir(), `aiprod-bundle-lazy-${fn.name}-`));
    cpSync(join(root, 'dist/functions', fn.name), dir, { recursive: true });
    const probe = join(dir, 'probe.js');
    writeFileSync(
      probe,
      `// As deployed: the lazy packages are not installed, so each must load from its own file.
       const Module = require('node:module');
       const resolve = Module._resolveFilename;
       const lazy = ${JSON.stringify(lazy)};
       Module._resolveFilename = function (request, ...rest) {
         if (lazy.some((p) => request === p || request.startsWith(p + '/')))
           throw Object.assign(new Error('not installed'), { code: 'MODULE_NOT_FOUND' });
         return resolve.call(this, request, ...rest);
       };
       const loaded = {};
       for (const file of ${JSON.stringify(files)})
         for (const [path, load] of Object.entries(require('./' + file))) loaded[path] = typeof load();
       process.stdout.write(JSON.stringify(loaded));
       process.exit(0);`,
    );
    const loaded = JSON.parse(
      execFileSync(process.execPath, [probe], {
        env: { ...process.env, NODE_PATH: join(root, 'node_modules') },
        encoding: 'utf8',
      }),
    ) as Record<string, string>;
    expect(Object.keys(loaded).length).toBeGreaterThanOrEqual(files.length);
    for (const [path, kind] of Object.entries(loaded))
      expect({ fn: fn.name, path, kind }).toEqual({
        fn: fn.name,
        path,
        kind: expect.stringMatching(/^(object|function)$/),
      });
  }
});

it('gives the ffmpeg binaries to the media function only', () => {
  expect(dependencies('job-processor')).toEqual(
    expect.arrayContaining(['ffmpeg-static', '@ffprobe-installer/ffprobe']),
  );
  for (const fn of manifest.filter((f) => f.name !== 'job-processor'))
    expect(dependencies(fn.name)).not.toEqual(expect.arrayContaining(['ffmpeg-static']));
});

it('ships Swagger UI with the docs bundle, which serves the page and its assets without swagger-ui-dist installed', () => {
  const dir = mkdtempSync(join(tmpdir(), 'aiprod-bundle-docs-'));
  const built = join(root, 'dist/functions/docs');
  cpSync(built, dir, { recursive: true });
  const zipped = execFileSync('unzip', ['-Z1', join(root, 'dist/functions/docs.zip')], { encoding: 'utf8' });
  expect(
    zipped
      .split('\n')
      .filter((f) => f && !f.startsWith('lazy/'))
      .sort(),
  ).toEqual(['index.js', 'package.json', 'swagger-ui/swagger-ui-bundle.js', 'swagger-ui/swagger-ui.css'].sort());
  const probe = join(dir, 'probe.js');
  writeFileSync(
    probe,
    `// As deployed: no node_modules but the function's own install, so swagger-ui-dist does not resolve.
     const Module = require('node:module');
     const resolve = Module._resolveFilename;
     Module._resolveFilename = function (request, ...rest) {
       if (request.startsWith('swagger-ui-dist')) throw Object.assign(new Error('not installed'), { code: 'MODULE_NOT_FOUND' });
       return resolve.call(this, request, ...rest);
     };
     require('./index.js');
     const { getTestServer } = require('@google-cloud/functions-framework/testing');
     const server = getTestServer('docs');
     server.listen(0, '127.0.0.1', async () => {
       const answers = {};
       for (const path of ['/docs', '/docs/swagger-ui.css', '/docs/swagger-ui-bundle.js', '/docs/swagger-initializer.js']) {
         const res = await fetch('http://127.0.0.1:' + server.address().port + path);
         answers[path] = { status: res.status, type: res.headers.get('content-type'), bytes: (await res.arrayBuffer()).byteLength };
       }
       process.stdout.write(JSON.stringify(answers));
       process.exit(0);
     });`,
  );
  const answers = JSON.parse(
    execFileSync(process.execPath, [probe], {
      env: { ...process.env, NODE_PATH: join(root, 'node_modules') },
      encoding: 'utf8',
    }),
  );
  const size = (file: string) => statSync(join(built, 'swagger-ui', file)).size;
  expect(answers).toEqual({
    '/docs': { status: 200, type: 'text/html; charset=utf-8', bytes: expect.any(Number) },
    '/docs/swagger-ui.css': { status: 200, type: 'text/css; charset=utf-8', bytes: size('swagger-ui.css') },
    '/docs/swagger-ui-bundle.js': {
      status: 200,
      type: 'text/javascript; charset=utf-8',
      bytes: size('swagger-ui-bundle.js'),
    },
    '/docs/swagger-initializer.js': { status: 200, type: 'text/javascript; charset=utf-8', bytes: expect.any(Number) },
  });
});

it('ships the rendered document with the openapi bundle, which serves that file rather than building one', () => {
  const built = join(root, 'dist/functions/openapi');
  expect(readFileSync(join(built, 'openapi.json'), 'utf8')).toBe(renderOpenApiJson());
  const dir = mkdtempSync(join(tmpdir(), 'aiprod-bundle-openapi-'));
  cpSync(built, dir, { recursive: true });
  // A stand-in document: what the function answers shows which one it served.
  writeFileSync(join(dir, 'openapi.json'), '{"openapi":"3.1.0","served":"beside the bundle"}');
  const probe = join(dir, 'probe.js');
  writeFileSync(
    probe,
    `require('./index.js');
     const { getTestServer } = require('@google-cloud/functions-framework/testing');
     const server = getTestServer('openapi');
     server.listen(0, '127.0.0.1', async () => {
       const res = await fetch('http://127.0.0.1:' + server.address().port + '/openapi.json');
       process.stdout.write(JSON.stringify({ status: res.status, body: await res.json() }));
       process.exit(0);
     });`,
  );
  const answer = JSON.parse(
    execFileSync(process.execPath, [probe], {
      env: { ...process.env, NODE_PATH: join(root, 'node_modules') },
      encoding: 'utf8',
    }),
  ) as { status: number; body: unknown };
  expect(answer).toEqual({ status: 200, body: { openapi: '3.1.0', served: 'beside the bundle' } });
});

it('keeps zod-to-openapi and the document out of every bundle but the openapi function', () => {
  // A message of zod-to-openapi's own, which minifying keeps.
  const marker = 'Unknown zod object type';
  for (const fn of manifest) {
    const code = readFileSync(join(root, 'dist/functions', fn.name, 'index.js'), 'utf8');
    expect({ fn: fn.name, bundled: code.includes(marker) }).toEqual({ fn: fn.name, bundled: fn.name === 'openapi' });
  }
});
