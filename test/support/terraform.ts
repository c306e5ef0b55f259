/**
 * Offline helpers for the Terraform tests: parse HCL with @cdktf/hcl2json (no provider needed),
 * find the terraform binary, and run a scratch configuration around the provider-free manifest
 * module.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { parse } from '@cdktf/hcl2json';

export const ROOT = join(__dirname, '..', '..');
export const TF_DIR = join(ROOT, 'terraform');
export const MODULES_DIR = join(TF_DIR, 'modules');
export const MANIFEST_JSON = join(ROOT, 'functions', 'manifest.json');

export type Block = Record<string, unknown>;

/** One Terraform module: every .tf file of a directory, merged. */
export interface TfModule {
  dir: string;
  files: string[];
  resources: Record<string, Record<string, Block>>;
  data: Record<string, Record<string, Block>>;
  variables: Record<string, Block>;
  outputs: Record<string, Block>;
  modules: Record<string, Block>;
  locals: Record<string, unknown>;
  terraform: Block[];
  /** Concatenated source text, for the few checks that read expressions as written. */
  text: string;
}

export interface ManifestEntry {
  name: string;
  kind: 'http' | 'event';
  memory: string;
  cpu: string;
  timeoutSeconds: number;
  maxInstances: number;
  minInstances: number;
  access: {
    secrets: string[];
    publishes: string[];
    uploads: string;
    outputs: string;
    signUrls: boolean;
    kms: boolean;
    rotates?: string[];
    watches?: string[];
  };
  method?: string;
  paths?: string[];
  topic?: string;
  ackDeadlineSeconds?: number;
  maxDeliveryAttempts?: number;
  minBackoffSeconds?: number;
  maxBackoffSeconds?: number;
}

/** functions/manifest.json: the platform declaration as Terraform reads it. */
export interface ManifestDocument {
  topics: string[];
  secrets: Record<string, { description: string; rotate: boolean; env: string }>;
  functions: ManifestEntry[];
}

export function readManifestDocument(): ManifestDocument {
  return JSON.parse(readFileSync(MANIFEST_JSON, 'utf8')) as ManifestDocument;
}

export function readManifest(): ManifestEntry[] {
  return readManifestDocument().functions;
}

export const isBlock = (v: unknown): v is Block => typeof v === 'object' && v !== null && !Array.isArray(v);

/** hcl2json renders every nested block as an array of objects. */
export function blocks(v: unknown): Block[] {
  if (Array.isArray(v)) return v.filter(isBlock);
  return isBlock(v) ? [v] : [];
}

export function block(v: unknown): Block {
  const first = blocks(v)[0];
  if (!first) throw new Error(`expected a block, got ${JSON.stringify(v)}`);
  return first;
}

/** Static and dynamic blocks of one name (dynamic blocks contribute their `content`). */
export function allBlocks(parent: Block, name: string): Block[] {
  const dynamic = isBlock(parent.dynamic) ? blocks(parent.dynamic[name]) : [];
  return [...blocks(parent[name]), ...dynamic.flatMap((d) => blocks(d.content))];
}

export function dynamicBlocks(parent: Block, name: string): Block[] {
  return isBlock(parent.dynamic) ? blocks(parent.dynamic[name]) : [];
}

/** Every string anywhere in a parsed value. */
export function strings(v: unknown): string[] {
  if (typeof v === 'string') return [v];
  if (Array.isArray(v)) return v.flatMap(strings);
  if (isBlock(v)) return Object.values(v).flatMap(strings);
  return [];
}

function mergeNamed(target: Record<string, Record<string, Block>>, source: unknown): void {
  if (!isBlock(source)) return;
  for (const [type, byName] of Object.entries(source)) {
    if (!isBlock(byName)) continue;
    target[type] ??= {};
    for (const [name, value] of Object.entries(byName)) target[type]![name] = block(value);
  }
}

function mergeSingle(target: Record<string, Block>, source: unknown): void {
  if (!isBlock(source)) return;
  for (const [name, value] of Object.entries(source)) target[name] = block(value);
}

/** One .tf file as hcl2json renders it. */
export async function parseHcl(path: string, text: string): Promise<Block> {
  return (await parse(path, text)) as Block;
}

/** Every .tf file under a directory, relative to it (no .terraform working directories). */
export function tfFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.tf') && !f.split(/[\\/]/).includes('.terraform'))
    .sort();
}

export async function loadModule(dir: string): Promise<TfModule> {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.tf'))
    .sort();
  const mod: TfModule = {
    dir,
    files,
    resources: {},
    data: {},
    variables: {},
    outputs: {},
    modules: {},
    locals: {},
    terraform: [],
    text: '',
  };
  for (const file of files) {
    const text = readFileSync(join(dir, file), 'utf8');
    mod.text += `${text}\n`;
    const parsed = await parseHcl(join(dir, file), text);
    mergeNamed(mod.resources, parsed.resource);
    mergeNamed(mod.data, parsed.data);
    mergeSingle(mod.variables, parsed.variable);
    mergeSingle(mod.outputs, parsed.output);
    mergeSingle(mod.modules, parsed.module);
    for (const l of blocks(parsed.locals)) Object.assign(mod.locals, l);
    mod.terraform.push(...blocks(parsed.terraform));
  }
  return mod;
}

export function moduleNames(): string[] {
  return readdirSync(MODULES_DIR, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();
}

export function resource(mod: TfModule, type: string, name: string): Block {
  const r = mod.resources[type]?.[name];
  if (!r) throw new Error(`${mod.dir}: no resource ${type}.${name}`);
  return r;
}

/** The default of a variable, as hcl2json renders it (literals stay JSON values). */
export function variableDefault(mod: TfModule, name: string): unknown {
  const v = mod.variables[name];
  if (!v) throw new Error(`${mod.dir}: no variable ${name}`);
  return v.default;
}

// ---------------------------------------------------------------------------------------------
// The terraform binary
// ---------------------------------------------------------------------------------------------

interface BinaryLookup {
  binary: string | null;
  /** Why there is none, for the skip message. */
  missing: string;
}

let lookup: BinaryLookup | undefined;

function findBinary(): BinaryLookup {
  if (!lookup) {
    const r = spawnSync('terraform', ['version'], { encoding: 'utf8', env: terraformEnv() });
    if (r.status === 0) lookup = { binary: 'terraform', missing: '' };
    else if (r.error) lookup = { binary: null, missing: 'no terraform binary on the PATH' };
    else lookup = { binary: null, missing: `\`terraform version\` failed: ${(r.stderr || r.stdout).trim()}` };
  }
  return lookup;
}

/**
 * Whether a missing binary fails the suite, and why: by default in CI (CI set), where these tests
 * are the only evaluation of the manifest module and the only `terraform fmt` check before a
 * merge. AIPROD_REQUIRE_TERRAFORM=1/0 decides instead, e.g. =0 on a CI machine that cannot have a
 * binary (no package registry it reaches ships one).
 */
function requirement(): { required: boolean; why: string } {
  const explicit = process.env.AIPROD_REQUIRE_TERRAFORM;
  if (explicit)
    return { required: explicit !== '0' && explicit !== 'false', why: `AIPROD_REQUIRE_TERRAFORM=${explicit}` };
  return process.env.CI ? { required: true, why: 'CI is set' } : { required: false, why: 'CI is not set' };
}

/**
 * `describe` for tests that run the terraform binary. Without one they never pass silently: the
 * suite shows a skipped test whose title gives the reason and prints one line, or, when terraform
 * is required (see requirement), a failing test with the same reason.
 */
export function describeWithTerraform(name: string, body: () => void): void {
  const { binary, missing } = findBinary();
  if (binary) {
    describe(name, body);
    return;
  }
  const { required, why } = requirement();
  if (required) {
    describe(name, () => {
      it(`needs terraform: ${missing} (required: ${why})`, () => {
        throw new Error(`${missing}. Put terraform >= 1.5 on the PATH, or set AIPROD_REQUIRE_TERRAFORM=0 to skip.`);
      });
    });
    return;
  }
  // One plain line (console.* would add a code frame): visible in a run of many files too.
  process.stderr.write(`${name}: skipped, ${missing} (not required: ${why})\n`);
  describe(name, () => {
    it.skip(`skipped: ${missing} (not required: ${why})`, () => {});
  });
}

let cliConfig: string | undefined;

/** No user CLI configuration, no telemetry, no prompts. */
export function terraformEnv(): NodeJS.ProcessEnv {
  if (!cliConfig) {
    // An empty CLI configuration: no credentials helper, no plugin mirror, nothing from the user.
    cliConfig = join(tmpdir(), 'aiprod-empty.terraformrc');
    writeFileSync(cliConfig, '');
  }
  return {
    ...process.env,
    TF_CLI_CONFIG_FILE: cliConfig,
    TF_IN_AUTOMATION: '1',
    CHECKPOINT_DISABLE: '1',
    TF_INPUT: '0',
  };
}

export interface TfRun {
  status: number;
  stdout: string;
  stderr: string;
}

export function runTerraform(cwd: string, args: string[]): TfRun {
  const r = spawnSync('terraform', args, { cwd, encoding: 'utf8', env: terraformEnv(), timeout: 120_000 });
  return { status: r.status ?? 1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/** The text of the first top-level `<keyword> {` block of an HCL source (braces balanced). */
export function hclBlockText(source: string, opening: RegExp): string {
  const m = opening.exec(source);
  if (!m) throw new Error(`no block matching ${opening}`);
  let depth = 0;
  for (let i = m.index; i < source.length; i += 1) {
    if (source[i] === '{') depth += 1;
    else if (source[i] === '}') {
      depth -= 1;
      if (depth === 0) return source.slice(m.index, i + 1);
    }
  }
  throw new Error(`unbalanced block ${opening}`);
}

/** The relative module source from a scratch directory to a module of terraform/modules. */
export function moduleSource(fromDir: string, moduleName: string): string {
  const source = relative(fromDir, join(MODULES_DIR, moduleName)).split('\\').join('/');
  return source.startsWith('.') ? source : `./${source}`;
}

/**
 * Applies a provider-free configuration in a scratch directory and returns its outputs
 * (name -> value). Only for configurations without resources.
 */
export function evaluateScratch(build: (dir: string) => string): Record<string, unknown> {
  const dir = mkdtempSync(join(tmpdir(), 'aiprod-scratch-'));
  try {
    writeFileSync(join(dir, 'main.tf'), build(dir));
    const init = runTerraform(dir, ['init', '-backend=false', '-input=false', '-no-color']);
    if (init.status !== 0) throw new Error(`terraform init failed:\n${init.stdout}\n${init.stderr}`);
    const state = join(dir, 'scratch.tfstate');
    const apply = runTerraform(dir, [
      'apply',
      '-auto-approve',
      '-input=false',
      '-lock=false',
      '-no-color',
      `-state=${state}`,
    ]);
    if (apply.status !== 0) throw new Error(`terraform apply failed:\n${apply.stdout}\n${apply.stderr}`);
    const out = runTerraform(dir, ['output', '-no-color', '-json', `-state=${state}`]);
    if (out.status !== 0) throw new Error(`terraform output failed:\n${out.stderr}`);
    const parsed = JSON.parse(out.stdout) as Record<string, { value: unknown }>;
    return Object.fromEntries(Object.entries(parsed).map(([k, v]) => [k, v.value]));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * A scratch root module around modules/manifest, evaluated with a local state: the manifest
 * module has no provider, so `terraform apply` works without network access.
 */
export class ManifestHarness {
  readonly dir: string;

  constructor() {
    this.dir = mkdtempSync(join(tmpdir(), 'aiprod-manifest-'));
    const source = moduleSource(this.dir, 'manifest');
    writeFileSync(
      join(this.dir, 'main.tf'),
      [
        'variable "manifest_file" {',
        '  type = string',
        '}',
        '',
        'module "manifest" {',
        `  source   = "${source}"`,
        '  manifest = jsondecode(file(var.manifest_file))',
        '}',
        '',
        'output "manifest" {',
        '  value = module.manifest',
        '}',
        '',
      ].join('\n'),
    );
    const init = runTerraform(this.dir, ['init', '-backend=false', '-input=false', '-no-color']);
    if (init.status !== 0) throw new Error(`terraform init failed:\n${init.stdout}\n${init.stderr}`);
  }

  private varArgs(manifestFile: string): string[] {
    const varFile = join(this.dir, `vars-${Date.now()}-${Math.random().toString(36).slice(2)}.tfvars.json`);
    writeFileSync(varFile, JSON.stringify({ manifest_file: manifestFile }));
    return [`-var-file=${varFile}`];
  }

  /** Applies the scratch configuration and returns the manifest module's outputs. */
  evaluate(manifestFile: string): Block {
    const state = join(this.dir, `state-${Date.now()}-${Math.random().toString(36).slice(2)}.tfstate`);
    const args = this.varArgs(manifestFile);
    const apply = runTerraform(this.dir, [
      'apply',
      '-auto-approve',
      '-input=false',
      '-lock=false',
      '-no-color',
      `-state=${state}`,
      ...args,
    ]);
    if (apply.status !== 0) throw new Error(`terraform apply failed:\n${apply.stdout}\n${apply.stderr}`);
    const out = runTerraform(this.dir, ['output', '-no-color', '-json', `-state=${state}`, 'manifest']);
    if (out.status !== 0) throw new Error(`terraform output failed:\n${out.stderr}`);
    return JSON.parse(out.stdout) as Block;
  }

  /** Plans the scratch configuration and returns the result (for manifests that must be refused). */
  plan(manifestFile: string): TfRun {
    return runTerraform(this.dir, ['plan', '-input=false', '-lock=false', '-no-color', ...this.varArgs(manifestFile)]);
  }

  /** A manifest document with these functions, the real topics, and the real secrets plus `secrets`. */
  writeManifest(entries: unknown[], secrets: ManifestDocument['secrets'] = {}): string {
    const file = join(this.dir, `manifest-${Date.now()}-${Math.random().toString(36).slice(2)}.json`);
    const real = readManifestDocument();
    writeFileSync(
      file,
      JSON.stringify({ ...real, secrets: { ...real.secrets, ...secrets }, functions: entries }, null, 2),
    );
    return file;
  }

  dispose(): void {
    if (existsSync(this.dir)) rmSync(this.dir, { recursive: true, force: true });
  }
}
