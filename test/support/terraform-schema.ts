/**
 * Provider schemas without `terraform init`, and the checks `terraform validate` would make with
 * them: the @cdktf/provider-* packages are generated from the real provider schemas, so their
 * generated code lists every argument, nested block and attribute of every resource and data
 * source. The code is read as text (running it needs the cdktf runtime and a construct tree),
 * only for the types asked for, and cached.
 *
 * Sources, per type (lib/<dir>/):
 * - index.js: `synthesizeHclAttributes()` of the class and one `<block>ToHclTerraform(struct)`
 *   function per nested block, each an object literal keyed by the Terraform (snake_case) names
 *   with `isBlock` and `type`; a block's value calls the function of its own nested block.
 * - index.d.ts: the Config interface of the type and one interface per nested block, where a
 *   required name is a non-optional property whose doc link ends in `#<snake_name>`.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';

const PROVIDER_PACKAGES = {
  google: '@cdktf/provider-google',
  'google-beta': '@cdktf/provider-google-beta',
  random: '@cdktf/provider-random',
} as const;

export type ProviderName = keyof typeof PROVIDER_PACKAGES;
export type Kind = 'resource' | 'data';

const isProviderName = (name: string): name is ProviderName => Object.hasOwn(PROVIDER_PACKAGES, name);

/** One level of a schema: the type itself or one nested block. */
export interface BlockSchema {
  /** Arguments, with the cdktf type of each ("simple", "list", "set", "map", ...). */
  attributes: ReadonlyMap<string, string>;
  blocks: ReadonlyMap<string, BlockSchema>;
  /** Required arguments and required nested blocks (at least one item). */
  required: ReadonlySet<string>;
}

export interface TypeSchema extends BlockSchema {
  provider: ProviderName;
  kind: Kind;
  type: string;
  /** Every top-level name an expression can read: arguments, blocks and computed attributes. */
  exported: ReadonlySet<string>;
  /** The generated directory it was read from, for messages. */
  dir: string;
}

// ---------------------------------------------------------------------------------------------
// Locating a type in a provider package
// ---------------------------------------------------------------------------------------------

const libDirs = new Map<ProviderName, string>();

function libDir(provider: ProviderName): string {
  let dir = libDirs.get(provider);
  if (!dir) {
    dir = dirname(require.resolve(PROVIDER_PACKAGES[provider]));
    libDirs.set(provider, dir);
  }
  return dir;
}

const listings = new Map<ProviderName, string[]>();

function typeDirs(provider: ProviderName): string[] {
  let names = listings.get(provider);
  if (!names) {
    names = readdirSync(libDir(provider), { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name);
    listings.set(provider, names);
  }
  return names;
}

const versions = new Map<ProviderName, string>();

/** The provider version the package was generated from (package.json `cdktf.provider.version`). */
export function providerVersion(provider: ProviderName): string {
  let version = versions.get(provider);
  if (!version) {
    const pkg = JSON.parse(readFileSync(join(libDir(provider), '..', 'package.json'), 'utf8')) as {
      cdktf?: { provider?: { version?: string } };
    };
    version = pkg.cdktf?.provider?.version ?? 'unknown';
    versions.set(provider, version);
  }
  return version;
}

const CLASS_HEADER =
  /export declare class (\w+) extends cdktf\.Terraform(Resource|DataSource) \{\s*static readonly tfResourceType = "(\w+)";/;

interface Located {
  dir: string;
  className: string;
  dts: string;
}

function describes(provider: ProviderName, dir: string, kind: Kind, type: string): Located | undefined {
  let dts: string;
  try {
    dts = readFileSync(join(libDir(provider), dir, 'index.d.ts'), 'utf8');
  } catch {
    return undefined;
  }
  const m = CLASS_HEADER.exec(dts);
  if (!m || m[3] !== type || (m[2] === 'DataSource') !== (kind === 'data')) return undefined;
  return { dir, className: m[1]!, dts };
}

/**
 * The generated directory of a type. cdktf names it after the type without its provider prefix
 * (`google_pubsub_topic` -> pubsub-topic, data `google_project` -> data-google-project), with
 * exceptions for clashes (random_string -> string-resource, google-beta's
 * google-project-service-identity), so the likely names are tried first and then every
 * directory containing the bare name. Each candidate is confirmed by its `tfResourceType`.
 */
function locate(provider: ProviderName, kind: Kind, type: string): Located | undefined {
  const prefix = type.split('_')[0]!;
  const bare = type.slice(prefix.length + 1).replaceAll('_', '-');
  const likely = kind === 'data' ? [`data-${prefix}-${bare}`] : [bare, `${bare}-resource`, `${prefix}-${bare}`];
  const others = typeDirs(provider)
    .filter((d) => d.includes(bare) && !likely.includes(d))
    .sort((a, b) => a.length - b.length);
  for (const dir of [...likely, ...others]) {
    const found = describes(provider, dir, kind, type);
    if (found) return found;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Reading the generated code
// ---------------------------------------------------------------------------------------------

interface Attr {
  name: string;
  isBlock: boolean;
  type: string;
  /** For a block: the ToHclTerraform function of its nested level. */
  nested?: string;
}

// One entry of an attrs literal: `name: {\n value: <expression>,\n isBlock: true|false,\n type: "list",`.
const ENTRY = /^\s*"?(\w+)"?: \{\s*value: (.*),\s*isBlock: (true|false),\s*type: "(\w+)",/gm;
// The first generated function a block's value calls (cdktf's own helpers are `cdktf.<name>`).
const NESTED_FN = /(?<![.\w])([a-z]\w*ToHclTerraform)\b/;

function entries(code: string, where: string): Attr[] {
  return [...code.matchAll(ENTRY)].map(([, name, value, isBlock, type]) => {
    const attr: Attr = { name: name!, isBlock: isBlock === 'true', type: type! };
    if (attr.isBlock) {
      const nested = NESTED_FN.exec(value!)?.[1];
      if (!nested) throw new Error(`${where}: block ${attr.name} names no nested function in ${value}`);
      attr.nested = nested;
    }
    return attr;
  });
}

/** The text between `start` and the next `end` (both must exist). */
function slice(text: string, start: string, end: string, where: string): string {
  const from = text.indexOf(start);
  const to = from < 0 ? -1 : text.indexOf(end, from);
  if (to < 0) throw new Error(`${where}: no ${JSON.stringify(start)} ... ${JSON.stringify(end)}`);
  return text.slice(from, to);
}

// A property of an interface: its registry doc link names the Terraform name (a note may follow
// it in the comment), `?` marks it optional.
const FIELD = /Docs at Terraform Registry: \{@link [^#}\s]+#(\w+) (?:(?!\*\/)[\s\S])*\*\/\s*readonly \w+(\?)?:/g;

/** Terraform name -> required, from one interface of index.d.ts. */
function interfaceFields(dts: string, name: string, where: string): Map<string, boolean> {
  const body = slice(dts, `export interface ${name} `, '\n}\n', where);
  return new Map([...body.matchAll(FIELD)].map(([, snake, optional]) => [snake!, optional === undefined]));
}

/** The interface a nested ToHclTerraform function takes (the struct type, not the OutputReference). */
function structInterface(dts: string, fn: string, where: string): string {
  const signature = slice(dts, `export declare function ${fn}(struct?: `, '): any;', where);
  const types = signature
    .slice(signature.indexOf(':') + 1)
    .split('|')
    .map((t) => t.trim());
  const struct = types.find((t) => !t.startsWith('cdktf.') && !t.endsWith('OutputReference'));
  if (!struct) throw new Error(`${where}: no struct type in ${signature}`);
  return struct;
}

class GeneratedType {
  private readonly js: string;
  private readonly levels = new Map<string, BlockSchema>();

  constructor(
    private readonly where: string,
    jsFile: string,
    private readonly dts: string,
  ) {
    const js = readFileSync(jsFile, 'utf8');
    // The inline source map is megabytes of base64 that no pattern needs to scan.
    const map = js.lastIndexOf('\n//# sourceMappingURL=');
    this.js = map < 0 ? js : js.slice(0, map);
  }

  schema(className: string): BlockSchema {
    const code = slice(this.js, 'synthesizeHclAttributes() {', '// remove undefined attributes', this.where);
    return this.level(entries(code, this.where), `${className}Config`, className);
  }

  /**
   * The top-level names the class exposes: a getter per attribute (`this.getStringAttribute('uri')`)
   * and an output reference per block or map (`new XList(this, "conditions", false)`,
   * `new cdktf.StringMap(this, "terraform_labels")`).
   */
  exported(className: string): Set<string> {
    const body = slice(this.js, `\nclass ${className} extends`, `\nexports.${className} = ${className};`, this.where);
    return new Set([
      ...[...body.matchAll(/this\.get\w*Attribute\('(\w+)'\)/g)].map((m) => m[1]!),
      ...[...body.matchAll(/new [\w.]+\(this, "(\w+)"/g)].map((m) => m[1]!),
    ]);
  }

  private nested(fn: string): BlockSchema {
    let level = this.levels.get(fn);
    if (!level) {
      const where = `${this.where} ${fn}`;
      const code = slice(this.js, `\nfunction ${fn}(struct) {`, '\n}\n', where);
      level = this.level(entries(code, where), structInterface(this.dts, fn, where), fn);
      this.levels.set(fn, level);
    }
    return level;
  }

  /**
   * One level, cross-checked: the interface must declare exactly the names of the attrs literal,
   * or the extraction has misread the generated code.
   */
  private level(attrs: Attr[], iface: string, label: string): BlockSchema {
    const fields = interfaceFields(this.dts, iface, `${this.where} ${label}`);
    const names = attrs.map((a) => a.name).sort();
    const declared = [...fields.keys()].sort();
    if (names.join() !== declared.join()) {
      throw new Error(`${this.where} ${label}: attrs [${names.join()}] but ${iface} declares [${declared.join()}]`);
    }
    return {
      attributes: new Map(attrs.filter((a) => !a.isBlock).map((a) => [a.name, a.type])),
      blocks: new Map(attrs.filter((a) => a.isBlock).map((a) => [a.name, this.nested(a.nested!)])),
      required: new Set(names.filter((n) => fields.get(n))),
    };
  }
}

const schemas = new Map<string, TypeSchema | null>();

/** The schema of a resource or data source type of a provider, or null when it has no such type. */
export function typeSchema(provider: ProviderName, kind: Kind, type: string): TypeSchema | null {
  const key = `${provider} ${kind} ${type}`;
  let schema = schemas.get(key);
  if (schema === undefined) {
    const found = locate(provider, kind, type);
    if (found) {
      const where = `${PROVIDER_PACKAGES[provider]}/lib/${found.dir}`;
      const generated = new GeneratedType(where, join(libDir(provider), found.dir, 'index.js'), found.dts);
      const level = generated.schema(found.className);
      const exported = new Set([
        ...generated.exported(found.className),
        ...level.attributes.keys(),
        ...level.blocks.keys(),
      ]);
      schema = { ...level, provider, kind, type, dir: found.dir, exported };
    } else {
      schema = null;
    }
    schemas.set(key, schema);
  }
  return schema;
}

// ---------------------------------------------------------------------------------------------
// Checking parsed HCL against the schemas
// ---------------------------------------------------------------------------------------------

/** One wrong or missing name: in a resource or data block, or in a reference to one. */
export interface SchemaProblem {
  file: string;
  /** `google_pubsub_topic.this` or `data.google_project.this`. */
  address: string;
  /** Where inside the block: `conditions.condition_threshold`, or "" at the top level. */
  path: string;
  message: string;
}

type Body = Record<string, unknown>;

const isBody = (v: unknown): v is Body => typeof v === 'object' && v !== null && !Array.isArray(v);
const bodies = (v: unknown): Body[] => (Array.isArray(v) ? v.filter(isBody) : isBody(v) ? [v] : []);

// Terraform's own arguments of a resource or data block, valid whatever the type.
const META_ARGUMENTS = ['count', 'for_each', 'provider', 'depends_on', 'lifecycle', 'provisioner', 'connection'];
const LIFECYCLE_ARGUMENTS = [
  'create_before_destroy',
  'prevent_destroy',
  'ignore_changes',
  'replace_triggered_by',
  'precondition',
  'postcondition',
];
const DYNAMIC_ARGUMENTS = ['for_each', 'iterator', 'labels', 'content'];
// cdktf types of arguments that can never hold a list of objects.
const SCALAR_OR_MAP = new Set(['simple', 'map']);

function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i += 1) {
    const row = [i];
    for (let j = 1; j <= b.length; j += 1) {
      row[j] = Math.min(previous[j]! + 1, row[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = row;
  }
  return previous[b.length]!;
}

/** Up to three valid names close to a wrong one, as a message suffix. */
function suggest(name: string, valid: Iterable<string>): string {
  const limit = Math.max(2, Math.floor(name.length / 4));
  const close = [...valid]
    .map((v) => ({ v, d: distance(name, v) }))
    .filter(({ v, d }) => d <= limit || (name.length > 3 && (v.includes(name) || name.includes(v))))
    .sort((a, b) => a.d - b.d)
    .slice(0, 3)
    .map(({ v }) => `"${v}"`);
  return close.length ? ` (did you mean ${close.join(' or ')}?)` : '';
}

class Checker {
  readonly problems: SchemaProblem[] = [];

  constructor(
    private readonly file: string,
    private readonly address: string,
  ) {}

  report(path: string[], message: string): void {
    this.problems.push({ file: this.file, address: this.address, path: path.join('.'), message });
  }

  /** Every name of one block body (and of its nested blocks) against one schema level. */
  body(schema: BlockSchema, body: Body, path: string[], extra: readonly string[] = []): void {
    const valid = [...schema.attributes.keys(), ...schema.blocks.keys(), ...extra];
    for (const [name, value] of Object.entries(body)) {
      if (extra.includes(name)) continue;
      if (name === 'dynamic') {
        this.dynamic(schema, value, path);
        continue;
      }
      const nested = schema.blocks.get(name);
      if (nested) {
        // hcl2json renders a block as an array of objects; anything else is `name = ...`.
        if (!Array.isArray(value)) this.report(path, `"${name}" is a block: write ${name} { ... }, not ${name} = ...`);
        for (const b of bodies(value)) this.body(nested, b, [...path, name]);
      } else if (!schema.attributes.has(name)) {
        this.report(path, `unsupported argument or block "${name}"${suggest(name, valid)}`);
      } else if (SCALAR_OR_MAP.has(schema.attributes.get(name)!) && Array.isArray(value) && value.some(isBody)) {
        // A list of objects is a block here: no scalar or map argument takes one.
        this.report(path, `"${name}" is an argument: write ${name} = ..., not ${name} { ... }`);
      }
    }
    const dynamic = isBody(body.dynamic) ? body.dynamic : {};
    for (const name of schema.required) {
      if (!(name in body) && !(name in dynamic)) this.report(path, `missing required "${name}"`);
    }
  }

  private dynamic(schema: BlockSchema, value: unknown, path: string[]): void {
    for (const [label, instances] of Object.entries(isBody(value) ? value : {})) {
      const nested = schema.blocks.get(label);
      if (!nested) {
        this.report(path, `dynamic "${label}": no block "${label}" here${suggest(label, schema.blocks.keys())}`);
        continue;
      }
      const where = [...path, `dynamic "${label}"`];
      for (const d of bodies(instances)) {
        this.only(d, DYNAMIC_ARGUMENTS, where);
        if (!('for_each' in d)) this.report(where, 'missing required "for_each"');
        if (!('content' in d)) this.report(where, 'missing required "content"');
        for (const content of bodies(d.content)) this.body(nested, content, [...path, label]);
      }
    }
  }

  lifecycle(value: unknown): void {
    for (const b of bodies(value)) this.only(b, LIFECYCLE_ARGUMENTS, ['lifecycle']);
  }

  private only(body: Body, allowed: readonly string[], path: string[]): void {
    for (const name of Object.keys(body)) {
      if (!allowed.includes(name)) this.report(path, `unsupported argument "${name}"${suggest(name, allowed)}`);
    }
  }
}

/** The provider a block uses: its `provider` meta-argument (`google-beta`, `google-beta.eu`), else its type's prefix. */
function providerOf(type: string, body: Body): string {
  const meta = typeof body.provider === 'string' ? /^\$\{([\w-]+)(\.\w+)?\}$/.exec(body.provider)?.[1] : undefined;
  return meta ?? type.split('_')[0]!;
}

function checkBlock(file: string, address: string, kind: Kind, type: string, body: Body): SchemaProblem[] {
  const check = new Checker(file, address);
  const provider = providerOf(type, body);
  if (!isProviderName(provider)) {
    check.report([], `provider "${provider}" is none of ${Object.keys(PROVIDER_PACKAGES).join(', ')}`);
    return check.problems;
  }
  const schema = typeSchema(provider, kind, type);
  if (!schema) {
    check.report([], unknownType(provider, kind, type));
    return check.problems;
  }
  check.body(schema, body, [], META_ARGUMENTS);
  check.lifecycle(body.lifecycle);
  return check.problems;
}

function unknownType(provider: ProviderName, kind: Kind, type: string): string {
  const message = `no ${kind === 'data' ? 'data source' : 'resource type'} "${type}" in ${provider} ${providerVersion(provider)}`;
  const elsewhere = (Object.keys(PROVIDER_PACKAGES) as ProviderName[]).find(
    (p) => p !== provider && type.startsWith(`${p.split('-')[0]}_`) && typeSchema(p, kind, type),
  );
  if (elsewhere) return `${message}: it is in ${elsewhere} (set provider = ${elsewhere})`;
  // Directory names are the type names in kebab case, near enough for a suggestion.
  const prefix = type.split('_')[0]!;
  const dataDir = `data-${prefix}-`;
  const names = typeDirs(provider)
    .filter((d) => (kind === 'data') === d.startsWith(dataDir))
    .map((d) => `${prefix}_${d.replace(dataDir, '').replaceAll('-', '_')}`);
  return `${message}${suggest(type, names)}`;
}

interface DeclaredBlock {
  kind: Kind;
  type: string;
  /** `google_pubsub_topic.this` or `data.google_project.this`. */
  address: string;
  body: Body;
}

function declaredBlocks(parsed: Body): DeclaredBlock[] {
  const found: DeclaredBlock[] = [];
  for (const kind of ['resource', 'data'] as const) {
    for (const [type, byName] of Object.entries(isBody(parsed[kind]) ? parsed[kind] : {})) {
      for (const [name, instances] of Object.entries(isBody(byName) ? byName : {})) {
        const address = kind === 'data' ? `data.${type}.${name}` : `${type}.${name}`;
        for (const body of bodies(instances)) found.push({ kind, type, address, body });
      }
    }
  }
  return found;
}

export interface FileCheck {
  /** Address of every resource and data block checked. */
  checked: string[];
  problems: SchemaProblem[];
}

/** Every resource and data block of one parsed file (hcl2json output) against the provider schemas. */
export function checkParsedFile(file: string, parsed: Body): FileCheck {
  const blocks = declaredBlocks(parsed);
  return {
    checked: blocks.map((b) => b.address),
    problems: blocks.flatMap((b) => checkBlock(file, b.address, b.kind, b.type, b.body)),
  };
}

/** One parsed .tf file (hcl2json output). */
export interface ParsedFile {
  file: string;
  parsed: Body;
}

// `google_x.name.attr`, `data.google_x.name[0].attr`, `random_x.name[each.key].attr`.
const REFERENCE = /(?<![\w.-])((?:data\.)?(?:google|random)_\w+\.\w+)(?:\[[^\]]*\])*\.(\w+)/g;

function allStrings(v: unknown): string[] {
  if (typeof v === 'string') return [v];
  if (Array.isArray(v)) return v.flatMap(allStrings);
  return isBody(v) ? Object.values(v).flatMap(allStrings) : [];
}

/** Address -> schema of every block of a module (null: unknown type or provider). */
function moduleSchemas(files: ParsedFile[]): Map<string, TypeSchema | null> {
  const byAddress = new Map<string, TypeSchema | null>();
  for (const { kind, type, address, body } of files.flatMap((f) => declaredBlocks(f.parsed))) {
    const provider = providerOf(type, body);
    byAddress.set(address, isProviderName(provider) ? typeSchema(provider, kind, type) : null);
  }
  return byAddress;
}

/**
 * Every `<type>.<name>.<attribute>` the expressions of one module read (files: the module's .tf
 * files): the block is declared in the module and its type exports the attribute.
 */
export function checkReferences(files: ParsedFile[]): SchemaProblem[] {
  const declared = moduleSchemas(files);
  const problems = new Map<string, SchemaProblem>();
  for (const { file, parsed } of files) {
    for (const [, address, attribute] of allStrings(parsed).flatMap((t) => [...t.matchAll(REFERENCE)])) {
      const schema = declared.get(address!);
      let message: string | undefined;
      if (schema === undefined) message = 'referenced, but not declared in this module';
      else if (schema && !schema.exported.has(attribute!))
        message = `no attribute "${attribute}"${suggest(attribute!, schema.exported)}`;
      // A null schema (unknown type or provider) is reported by checkParsedFile already.
      if (message) problems.set(`${file} ${address}.${attribute}`, { file, address: address!, path: '', message });
    }
  }
  return [...problems.values()];
}

export const formatProblem = (p: SchemaProblem): string =>
  `${p.file}: ${p.address}${p.path ? ` ${p.path}` : ''}: ${p.message}`;
