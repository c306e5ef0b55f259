import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { getFunction } from '@google-cloud/functions-framework/testing';
import { manifest, MANIFEST_JSON, manifestSchema, renderManifestJson } from '../../functions/manifest';

const FUNCTIONS_DIR = join(__dirname, '../../functions');

describe('function manifest', () => {
  it('is valid and its JSON twin (read by Terraform) is up to date: run `npm run manifest`', () => {
    expect(() => manifestSchema.parse(JSON.parse(readFileSync(MANIFEST_JSON, 'utf8')))).not.toThrow();
    expect(readFileSync(MANIFEST_JSON, 'utf8')).toBe(renderManifestJson());
  });

  it('lists every functions/* folder, and every entry has one', () => {
    const folders = readdirSync(FUNCTIONS_DIR).filter((f) => statSync(join(FUNCTIONS_DIR, f)).isDirectory());
    expect(folders.sort()).toEqual(manifest.map((f) => f.name).sort());
    for (const fn of manifest) expect(existsSync(join(FUNCTIONS_DIR, fn.name, 'index.ts'))).toBe(true);
  });

  it.each(manifest.map((f) => [f.name, f.kind] as const))(
    '%s registers its %s handler under its name',
    (name, kind) => {
      require(join(FUNCTIONS_DIR, name));
      const handler = getFunction(name);
      expect(typeof handler).toBe('function');
      // http handlers take (req, res); cloudEvent handlers take (event).
      expect(kind === 'http' ? (handler as (...a: unknown[]) => unknown).length : 1).toBeGreaterThanOrEqual(1);
    },
  );

  it('has unique names and no two functions on the same method and path', () => {
    expect(new Set(manifest.map((f) => f.name)).size).toBe(manifest.length);
    const routes = manifest.flatMap((f) => (f.kind === 'http' ? f.paths.map((p) => `${f.method} ${p}`) : []));
    expect(new Set(routes).size).toBe(routes.length);
  });

  it('gives every event function an ack deadline above its timeout, as Pub/Sub push needs', () => {
    for (const fn of manifest)
      if (fn.kind === 'event') expect(fn.ackDeadlineSeconds).toBeGreaterThan(fn.timeoutSeconds);
  });
});
