import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { getFunction } from '@google-cloud/functions-framework/testing';
import { CONFIG_VARIABLES } from '../../shared/config';
import {
  manifest,
  manifestSchema,
  renderManifestJson,
  SECRETS,
  secretEnv,
  TOPICS,
} from '../../shared/platform/manifest';
import { pathShape } from '../../shared/http/paths';
import { MANIFEST_JSON } from '../support/terraform';

const FUNCTIONS_DIR = join(__dirname, '../../functions');
// The registry records each function's signature type; the package's exports map hides the module.
const registry = require(
  join(dirname(require.resolve('@google-cloud/functions-framework')), 'function_registry.js'),
) as { getRegisteredFunction(name: string): { signatureType: string } | undefined };

describe('the platform declaration', () => {
  it('is valid and functions/manifest.json (read by Terraform) is up to date: run `npm run manifest`', () => {
    const json = JSON.parse(readFileSync(MANIFEST_JSON, 'utf8'));
    expect(() => manifestSchema.parse(json.functions)).not.toThrow();
    expect(json.topics).toEqual(Object.keys(TOPICS));
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
      expect(typeof getFunction(name)).toBe('function');
      expect(registry.getRegisteredFunction(name)?.signatureType).toBe(kind === 'http' ? 'http' : 'cloudevent');
    },
  );

  it('has unique names and no two functions on the same method and path', () => {
    expect(new Set(manifest.map((f) => f.name)).size).toBe(manifest.length);
    const routes = manifest.flatMap((f) =>
      f.kind === 'http' ? f.paths.map((p) => `${f.method} ${pathShape(p)}`) : [],
    );
    expect(new Set(routes).size).toBe(routes.length);
  });

  it('gives every event function an ack deadline above its timeout, as Pub/Sub push needs', () => {
    for (const fn of manifest) {
      if (fn.kind === 'event') expect(fn.ackDeadlineSeconds).toBeGreaterThan(fn.timeoutSeconds);
    }
  });

  it('declares only secrets the configuration reads, each as the variable named after it', () => {
    for (const id of Object.keys(SECRETS)) expect(CONFIG_VARIABLES).toContain(secretEnv(id));
    for (const fn of manifest) for (const id of fn.access.secrets) expect(Object.keys(SECRETS)).toContain(id);
  });
});
