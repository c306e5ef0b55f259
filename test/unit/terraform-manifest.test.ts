/**
 * Evaluates terraform/modules/manifest with the terraform binary (the module has no provider,
 * so this works offline) and checks what Terraform will actually deploy against
 * functions/manifest.json: every function, every route in the right order (and the URL map rules
 * the edge module renders from them, its locals block evaluated as written), every subscription.
 * Without a terraform binary the suite says so: a skipped test naming the reason, or a failure
 * in CI (describeWithTerraform in test/support/terraform.ts).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { secretEnv, TOPICS } from '../../shared/platform/manifest';
import {
  MANIFEST_JSON,
  MODULES_DIR,
  ManifestHarness,
  TF_DIR,
  evaluateScratch,
  hclBlockText,
  moduleSource,
  readManifest,
  runTerraform,
  describeWithTerraform,
  type ManifestEntry,
} from '../support/terraform';

interface Route {
  function: string;
  /** The method of the function the rule routes to. */
  method: string;
  path: string;
  match: 'full_path_match' | 'path_template_match';
  pattern: string;
  /** The :method values the rule matches; empty: the path's method-less last rule. */
  methods: string[];
  priority: number;
}

/** A route rule as the edge module writes it into the URL map. */
interface UrlMapRule {
  priority: number;
  function: string;
  match_rules: { full_path_match: string | null; path_template_match: string | null; method: string | null }[];
}

interface Fn {
  name: string;
  kind: string;
  entry_point: string;
  memory: string;
  cpu: string;
  timeout_seconds: number;
  max_instances: number;
  min_instances: number;
  ingress: string;
  concurrency: number;
  db_pool_max: number;
  secrets: string[];
  secret_env: Record<string, string>;
  access: {
    publishes: string[];
    uploads: string;
    outputs: string;
    kms: boolean;
    sign_urls: boolean;
    rotates: string[];
    watches: string[];
  };
  method: string | null;
  topic: string | null;
  ack_deadline_seconds: number | null;
  max_delivery_attempts: number | null;
  min_backoff_seconds: number | null;
  max_backoff_seconds: number | null;
}

interface Evaluated {
  functions: Record<string, Fn>;
  http_functions: Record<string, Fn>;
  event_functions: Record<string, Fn>;
  routes: Route[];
  http_methods: string[];
  secret_ids: string[];
  topics: string[];
}

/** Whether a URL map path match (full_path_match or path_template_match) matches a request path. */
function pathMatches(match: Route['match'], pattern: string, path: string): boolean {
  if (match === 'full_path_match') return pattern === path;
  const parts = pattern.split('/');
  const segments = path.split('/');
  if (parts.length !== segments.length) return false;
  // {name=*} and * match exactly one non-empty segment.
  return parts.every((p, i) => (/^\{[^}]+=\*\}$/.test(p) || p === '*' ? segments[i] !== '' : p === segments[i]));
}

/**
 * What the load balancer does with the routes: the matching rule with the lowest priority wins;
 * a rule matches the path and one of its methods (the :method pseudo-header), or the path alone
 * when it lists no method.
 */
function routeOf(routes: Route[], method: string, path: string): string | undefined {
  const sorted = [...routes].sort((a, b) => a.priority - b.priority);
  return sorted.find(
    (r) => pathMatches(r.match, r.pattern, path) && (r.methods.length === 0 || r.methods.includes(method)),
  )?.function;
}

/** The same over the URL map rules the edge module renders: match rules are ORed. */
function urlMapRouteOf(rules: UrlMapRule[], method: string, path: string): string | undefined {
  const sorted = [...rules].sort((a, b) => a.priority - b.priority);
  return sorted.find((r) =>
    r.match_rules.some(
      (m) =>
        (m.full_path_match !== null
          ? pathMatches('full_path_match', m.full_path_match, path)
          : pathMatches('path_template_match', m.path_template_match!, path)) &&
        (m.method === null || m.method === method),
    ),
  )?.function;
}

/** The path of a rule with its variables unnamed: /webhooks/{id=*} and /webhooks/{webhook_id=*} are one path. */
const pathKey = (pattern: string): string => pattern.replace(/\{[^}]*\}/g, '{}');

/** The rules of one path must be contiguous: the path keys in priority order, each run once. */
function pathRuns(routes: Route[]): Route[][] {
  const runs: Route[][] = [];
  for (const r of [...routes].sort((a, b) => a.priority - b.priority)) {
    const last = runs[runs.length - 1];
    if (last && pathKey(last[0]!.pattern) === pathKey(r.pattern)) last.push(r);
    else runs.push([r]);
  }
  return runs;
}

/**
 * Evaluates the edge module's locals block, unchanged, with its variables.tf (validations
 * included) over the manifest module's output for a manifest file: the URL map rules it renders.
 * Returns them, or the failed run when Terraform refuses.
 */
function edgeRouting(manifestFile: string, routes?: string): { rules?: UrlMapRule[]; refused?: string } {
  const edgeDir = join(MODULES_DIR, 'edge');
  const locals = hclBlockText(readFileSync(join(edgeDir, 'main.tf'), 'utf8'), /^locals \{/m);
  const dir = mkdtempSync(join(tmpdir(), 'aiprod-edge-'));
  try {
    mkdirSync(join(dir, 'edge'));
    writeFileSync(join(dir, 'edge', 'variables.tf'), readFileSync(join(edgeDir, 'variables.tf'), 'utf8'));
    writeFileSync(join(dir, 'edge', 'main.tf'), `${locals}\n\noutput "route_rules" { value = local.route_rules }\n`);
    writeFileSync(
      join(dir, 'main.tf'),
      `
module "manifest" {
  source   = "${moduleSource(dir, 'manifest')}"
  manifest = jsondecode(file("${manifestFile.split('\\').join('/')}"))
}

module "edge" {
  source         = "./edge"
  project_id     = "aiprod-test"
  region         = "europe-west1"
  name_prefix    = "aiprod"
  domains        = ["api.example.com"]
  http_functions = module.manifest.http_functions
  routes         = ${routes ?? 'module.manifest.routes'}
  http_methods   = module.manifest.http_methods
}

output "route_rules" { value = module.edge.route_rules }
`,
    );
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
    if (apply.status !== 0) return { refused: `${apply.stdout}\n${apply.stderr}`.replace(/\s+/g, ' ') };
    const out = runTerraform(dir, ['output', '-no-color', '-json', `-state=${state}`, 'route_rules']);
    if (out.status !== 0) throw new Error(`terraform output failed:\n${out.stderr}`);
    return { rules: JSON.parse(out.stdout) as UrlMapRule[] };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Every method a request can carry through Cloud Armor's allowlist, and one it would deny. */
const METHODS = ['GET', 'HEAD', 'POST', 'DELETE', 'OPTIONS', 'PUT'];

/** A concrete request path for a declared path: every {var} becomes an id-like segment. */
const concrete = (path: string): string => path.replace(/\{[^}]+\}/g, 'job_01HZX3K9');

const access = (secrets: string[], more: Record<string, unknown> = {}) => ({
  secrets,
  publishes: [],
  uploads: 'none',
  outputs: 'none',
  signUrls: false,
  kms: false,
  ...more,
});

const http = (name: string, method: string, paths: string[]): ManifestEntry & Record<string, unknown> => ({
  name,
  description: name,
  kind: 'http',
  memory: '512Mi',
  cpu: '1',
  timeoutSeconds: 30,
  maxInstances: 10,
  minInstances: 0,
  access: access(['database-url']),
  method,
  paths,
  auth: 'api_key',
  rateLimit: 'read',
});

const event = (name: string, topic: string, overrides: Record<string, unknown> = {}): Record<string, unknown> => ({
  name,
  description: name,
  kind: 'event',
  memory: '512Mi',
  cpu: '1',
  timeoutSeconds: 60,
  maxInstances: 5,
  minInstances: 0,
  access: access(['database-url']),
  topic,
  ackDeadlineSeconds: 120,
  maxDeliveryAttempts: 5,
  minBackoffSeconds: 10,
  maxBackoffSeconds: 600,
  ...overrides,
});

/**
 * The rules' order: priorities 1..n, exact paths before templates, and each path one run of
 * rules: one per function in method order (GET also matching HEAD), then one method-less rule
 * to the run's first function.
 */
function expectOrdered(routes: Route[]): void {
  expect(routes.map((r) => r.priority)).toEqual(routes.map((_, i) => i + 1));
  const exact = routes.filter((r) => r.match === 'full_path_match').map((r) => r.priority);
  const templates = routes.filter((r) => r.match === 'path_template_match').map((r) => r.priority);
  if (exact.length && templates.length) expect(Math.max(...exact)).toBeLessThan(Math.min(...templates));
  for (const r of routes) {
    if (r.path.includes('{')) {
      expect(r.match).toBe('path_template_match');
      expect(r.pattern).toBe(r.path.replace(/\{([^}]+)\}/g, '{$1=*}'));
    } else {
      expect(r.match).toBe('full_path_match');
      expect(r.pattern).toBe(r.path);
    }
  }
  const runs = pathRuns(routes);
  expect(new Set(runs.map((run) => pathKey(run[0]!.pattern))).size).toBe(runs.length);
  for (const run of runs) {
    const last = run[run.length - 1]!;
    const methodRules = run.slice(0, -1);
    expect({ path: last.path, methods: last.methods, to: last.function }).toEqual({
      path: last.path,
      methods: [],
      to: run[0]!.function,
    });
    expect(methodRules.length).toBeGreaterThan(0);
    expect(methodRules.map((r) => r.method)).toEqual(methodRules.map((r) => r.method).sort());
    for (const r of methodRules) expect(r.methods).toEqual(r.method === 'GET' ? ['GET', 'HEAD'] : [r.method]);
  }
}

/**
 * The method rules are exactly the declared (method, path, function) triples, and the simulated
 * load balancer sends every declared method (HEAD with GET) of every declared path to its
 * function, and any other method of a declared path to one of that path's functions.
 */
function expectDeclaredRoutes(routes: Route[], entries: ManifestEntry[]): void {
  const declared = entries.flatMap((f) => (f.paths ?? []).map((path) => ({ fn: f.name, method: f.method!, path })));
  expect(
    routes
      .filter((r) => r.methods.length > 0)
      .map((r) => `${r.method} ${r.path} -> ${r.function}`)
      .sort(),
  ).toEqual(declared.map((d) => `${d.method} ${d.path} -> ${d.fn}`).sort());
  expect(new Set(routes.filter((r) => r.methods.length === 0).map((r) => pathKey(r.pattern))).size).toBe(
    new Set(declared.map((d) => pathKey(d.path))).size,
  );
  for (const d of declared) {
    const path = concrete(d.path);
    const served = d.method === 'GET' ? ['GET', 'HEAD'] : [d.method];
    for (const method of served)
      expect({ method, path: d.path, routedTo: routeOf(routes, method, path) }).toEqual({
        method,
        path: d.path,
        routedTo: d.fn,
      });
    const owners = declared.filter((o) => pathKey(o.path) === pathKey(d.path)).map((o) => o.fn);
    for (const method of METHODS.filter((m) => !served.includes(m)))
      expect(owners).toContain(routeOf(routes, method, path));
  }
}

/**
 * The edge module's URL map rules for the routes: one per route, same priority and function; one
 * match rule per method with the route's path match, or a single method-less one.
 */
function expectRendered(rules: UrlMapRule[], routes: Route[]): void {
  expect(rules).toEqual(
    routes.map((r) => ({
      priority: r.priority,
      function: r.function,
      match_rules: (r.methods.length ? r.methods : [null]).map((method) => ({
        full_path_match: r.match === 'full_path_match' ? r.pattern : null,
        path_template_match: r.match === 'path_template_match' ? r.pattern : null,
        method,
      })),
    })),
  );
}

describeWithTerraform('manifest module evaluated by terraform', () => {
  const manifest = readManifest();
  let harness: ManifestHarness;
  let out: Evaluated;

  beforeAll(() => {
    harness = new ManifestHarness();
    out = harness.evaluate(MANIFEST_JSON) as unknown as Evaluated;
  });

  afterAll(() => harness?.dispose());

  describe('functions/manifest.json as deployed', () => {
    it('deploys exactly the manifest functions', () => {
      expect(Object.keys(out.functions).sort()).toEqual(manifest.map((f) => f.name).sort());
      expect(Object.keys(out.http_functions).sort()).toEqual(
        manifest
          .filter((f) => f.kind === 'http')
          .map((f) => f.name)
          .sort(),
      );
      expect(Object.keys(out.event_functions).sort()).toEqual(
        manifest
          .filter((f) => f.kind === 'event')
          .map((f) => f.name)
          .sort(),
      );
    });

    it.each(readManifest().map((f) => [f.name, f] as const))('deploys %s with its own settings', (name, entry) => {
      const fn = out.functions[name]!;
      expect(fn.entry_point).toBe(name);
      expect(fn.kind).toBe(entry.kind);
      expect(fn.memory).toBe(entry.memory);
      expect(fn.cpu).toBe(entry.cpu);
      expect(fn.timeout_seconds).toBe(entry.timeoutSeconds);
      expect(fn.max_instances).toBe(entry.maxInstances);
      expect(fn.min_instances).toBe(entry.minInstances);
      expect(fn.ingress).toBe(entry.kind === 'http' ? 'ALLOW_INTERNAL_AND_GCLB' : 'ALLOW_INTERNAL_ONLY');
      expect(fn.concurrency).toBe(entry.kind === 'http' ? 40 : 1);
      expect(fn.db_pool_max).toBe(entry.kind === 'http' ? 5 : 2);
      expect(fn.secret_env).toEqual(Object.fromEntries(entry.access.secrets.map((id) => [secretEnv(id), id])));
      if (entry.access.secrets.includes('database-url')) expect(fn.secret_env.DATABASE_URL).toBe('database-url');
    });

    it('subscribes every event function with the manifest delivery settings', () => {
      for (const entry of manifest.filter((f) => f.kind === 'event')) {
        const fn = out.event_functions[entry.name]!;
        expect(fn.topic).toBe(entry.topic);
        expect(fn.ack_deadline_seconds).toBe(entry.ackDeadlineSeconds);
        expect(fn.max_delivery_attempts).toBe(entry.maxDeliveryAttempts);
        expect(fn.min_backoff_seconds).toBe(entry.minBackoffSeconds);
        expect(fn.max_backoff_seconds).toBe(entry.maxBackoffSeconds);
        expect(fn.ack_deadline_seconds!).toBeGreaterThan(fn.timeout_seconds);
      }
    });

    it('routes every declared method and path, and only those, to the function that declares it', () => {
      expectDeclaredRoutes(out.routes, manifest);
      expect(routeOf(out.routes, 'GET', '/nope')).toBeUndefined();
      expect(routeOf(out.routes, 'GET', '/pipeline/a/b/c/d')).toBeUndefined();
    });

    it('answers a method no function serves on a declared path from that path, not with the 404', () => {
      expect(routeOf(out.routes, 'DELETE', '/presets')).toBe('presets');
      expect(routeOf(out.routes, 'GET', '/pipeline/run')).toBe('pipeline-run');
      expect(routeOf(out.routes, 'POST', '/pipeline/job_1/result')).toBe('pipeline-result');
    });

    it('orders routes: unique priorities, exact paths before templates, each path a run ending method-less', () => {
      expectOrdered(out.routes);
    });

    it('renders into URL map rules (edge module) matching the path and the :method of each route', () => {
      const { rules, refused } = edgeRouting(MANIFEST_JSON);
      expect(refused).toBeUndefined();
      expectRendered(rules!, out.routes);
      expect(rules!.find((r) => r.function === 'presets')!.match_rules.map((m) => m.method)).toEqual(['GET', 'HEAD']);
    });

    it('is refused by the edge module without the method-less rule of each path', () => {
      const { refused } = edgeRouting(MANIFEST_JSON, '[for r in module.manifest.routes : r if length(r.methods) > 0]');
      expect(refused).toMatch(/needs a method-less route after its method routes/);
    });

    it('lists the methods, secrets and topics the other modules need', () => {
      expect(out.http_methods).toEqual(
        [...new Set(manifest.filter((f) => f.kind === 'http').map((f) => f.method!))].sort(),
      );
      expect(out.secret_ids).toEqual([...new Set(manifest.flatMap((f) => f.access.secrets))].sort());
      expect(out.topics).toEqual(Object.keys(TOPICS));
    });

    it('gives every function exactly the access its manifest entry declares', () => {
      for (const entry of manifest) {
        const fn = out.functions[entry.name]!;
        expect({ fn: entry.name, access: fn.access }).toEqual({
          fn: entry.name,
          access: {
            publishes: [...entry.access.publishes].sort(),
            uploads: entry.access.uploads,
            outputs: entry.access.outputs,
            kms: entry.access.kms,
            sign_urls: entry.access.signUrls,
            rotates: [...(entry.access.rotates ?? [])].sort(),
            watches: [...(entry.access.watches ?? [])].sort(),
          },
        });
        for (const t of fn.access.publishes) expect(Object.keys(TOPICS)).toContain(t);
      }
    });
  });

  describe('a grown manifest (webhooks, batch, more event functions)', () => {
    const grown = [
      http('pipeline-run', 'POST', ['/pipeline/run']),
      http('pipeline-status', 'GET', ['/pipeline/{id}']),
      http('pipeline-result', 'GET', ['/pipeline/{id}/result']),
      http('pipeline-cancel', 'POST', ['/pipeline/{id}/cancel']),
      http('batch-submit', 'POST', ['/pipeline/batch']),
      http('batch-status', 'GET', ['/pipeline/batch/{id}']),
      http('batch-results', 'GET', ['/pipeline/batch/{id}/results']),
      http('batch-cancel', 'POST', ['/pipeline/batch/{id}/cancel']),
      // Two functions on one path, by method; the variable named differently on purpose.
      http('webhooks-list', 'GET', ['/webhooks']),
      http('webhooks-register', 'POST', ['/webhooks']),
      http('webhooks-delete', 'DELETE', ['/webhooks/{webhook_id}']),
      http('webhooks-get', 'GET', ['/webhooks/{id}']),
      http('webhooks-events', 'GET', ['/webhooks/events']),
      http('webhooks-rotate-secret', 'POST', ['/webhooks/{id}/rotate-secret']),
      http('docs', 'GET', ['/openapi.json', '/docs']),
      http('health', 'GET', ['/health', '/health/live', '/health/ready']),
      { ...http('uploads', 'POST', ['/uploads']), access: access(['database-url', 'upload-signing-key']) },
      event('job-processor', 'pipeline-jobs', { timeoutSeconds: 540, ackDeadlineSeconds: 600 }),
      event('result-notifier', 'job-results'),
      event('webhook-deliverer', 'job-notifications', { maxDeliveryAttempts: 10 }),
      event('secret-rotator', 'secret-rotation'),
      event('alert-notifier', 'monitoring-alerts', { access: access(['slack-webhook-url']) }),
      event('sweeper', 'maintenance'),
    ];
    let g: Evaluated;
    let grownFile: string;
    beforeAll(() => {
      const secret = (env: string) => ({ description: env, rotate: false, env });
      grownFile = harness.writeManifest(grown, {
        'upload-signing-key': secret('UPLOAD_SIGNING_KEY'),
        'slack-webhook-url': secret('SLACK_WEBHOOK_URL'),
      });
      g = harness.evaluate(grownFile) as unknown as Evaluated;
    });

    it('deploys every new function without any Terraform change', () => {
      expect(Object.keys(g.functions).sort()).toEqual(grown.map((f) => f.name).sort());
      expect(Object.keys(g.event_functions)).toHaveLength(6);
    });

    it('routes literal segments before variables at the same depth', () => {
      const cases: [string, string, string][] = [
        ['POST', '/pipeline/run', 'pipeline-run'],
        ['POST', '/pipeline/batch', 'batch-submit'],
        ['GET', '/pipeline/job_123', 'pipeline-status'],
        ['GET', '/pipeline/job_123/result', 'pipeline-result'],
        ['POST', '/pipeline/job_123/cancel', 'pipeline-cancel'],
        ['GET', '/pipeline/batch/b_1', 'batch-status'],
        ['GET', '/pipeline/batch/b_1/results', 'batch-results'],
        ['POST', '/pipeline/batch/b_1/cancel', 'batch-cancel'],
        ['GET', '/webhooks/events', 'webhooks-events'],
        ['POST', '/webhooks/wh_1/rotate-secret', 'webhooks-rotate-secret'],
        ['GET', '/openapi.json', 'docs'],
        ['GET', '/docs', 'docs'],
        ['GET', '/health/ready', 'health'],
        ['POST', '/uploads', 'uploads'],
      ];
      for (const [method, path, fn] of cases)
        expect({ method, path, routedTo: routeOf(g.routes, method, path) }).toEqual({ method, path, routedTo: fn });
      expect(routeOf(g.routes, 'GET', '/pipeline/batch/b_1/unknown')).toBeUndefined();
      expect(routeOf(g.routes, 'GET', '/webhooks/wh_1/unknown')).toBeUndefined();
    });

    it('routes two functions on one path by the method, HEAD with GET', () => {
      const cases: [string, string, string][] = [
        ['GET', '/webhooks', 'webhooks-list'],
        ['HEAD', '/webhooks', 'webhooks-list'],
        ['POST', '/webhooks', 'webhooks-register'],
        ['GET', '/webhooks/wh_1', 'webhooks-get'],
        ['HEAD', '/webhooks/wh_1', 'webhooks-get'],
        ['DELETE', '/webhooks/wh_1', 'webhooks-delete'],
      ];
      for (const [method, path, fn] of cases)
        expect({ method, path, routedTo: routeOf(g.routes, method, path) }).toEqual({ method, path, routedTo: fn });
      const webhook = g.routes.filter((r) => pathKey(r.pattern) === '/webhooks/{}');
      expect(webhook.map((r) => [r.function, r.pattern, r.methods])).toEqual([
        ['webhooks-delete', '/webhooks/{webhook_id=*}', ['DELETE']],
        ['webhooks-get', '/webhooks/{id=*}', ['GET', 'HEAD']],
        ['webhooks-delete', '/webhooks/{webhook_id=*}', []],
      ]);
    });

    it("sends a method no function of a path serves to the path's first function, which answers 405", () => {
      const cases: [string, string, string][] = [
        ['DELETE', '/webhooks', 'webhooks-list'],
        ['OPTIONS', '/webhooks', 'webhooks-list'],
        ['POST', '/webhooks/wh_1', 'webhooks-delete'],
        // The most specific declared path decides, then the method among its functions only:
        // /webhooks/events is not the webhook "events", and /pipeline/batch not the job "batch".
        ['DELETE', '/webhooks/events', 'webhooks-events'],
        ['GET', '/pipeline/batch', 'batch-submit'],
        ['GET', '/pipeline/job_123/cancel', 'pipeline-cancel'],
      ];
      for (const [method, path, fn] of cases)
        expect({ method, path, routedTo: routeOf(g.routes, method, path) }).toEqual({ method, path, routedTo: fn });
    });

    it('orders the grown routes the same way and routes every declared method and path', () => {
      expectOrdered(g.routes);
      expectDeclaredRoutes(g.routes, grown.filter((f) => f.kind === 'http') as unknown as ManifestEntry[]);
    });

    it('renders the routes into URL map rules that route every request as the routes do', () => {
      const { rules, refused } = edgeRouting(grownFile);
      expect(refused).toBeUndefined();
      expectRendered(rules!, g.routes);
      const paths = [...new Set(g.routes.map((r) => concrete(r.path)))];
      for (const path of [...paths, '/webhooks/wh_1/unknown', '/nope'])
        for (const method of METHODS)
          expect({ method, path, routedTo: urlMapRouteOf(rules!, method, path) }).toEqual({
            method,
            path,
            routedTo: routeOf(g.routes, method, path),
          });
    });

    it('allows DELETE once a DELETE function exists, and exposes new secret ids', () => {
      expect(g.http_methods).toEqual(['DELETE', 'GET', 'POST']);
      expect(g.secret_ids).toEqual(['database-url', 'slack-webhook-url', 'upload-signing-key']);
      expect(g.functions.uploads!.secret_env).toEqual({
        DATABASE_URL: 'database-url',
        UPLOAD_SIGNING_KEY: 'upload-signing-key',
      });
    });

    it('normalises a declared access for the modules: topics sorted, signUrls as sign_urls', () => {
      const declared = [
        {
          ...http('uploads', 'POST', ['/uploads']),
          access: access(['database-url'], {
            uploads: 'write',
            signUrls: true,
            publishes: ['maintenance', 'job-results'],
          }),
        },
      ];
      const a = harness.evaluate(harness.writeManifest(declared)) as unknown as Evaluated;
      expect(a.functions.uploads!.access).toEqual({
        uploads: 'write',
        sign_urls: true,
        outputs: 'none',
        kms: false,
        publishes: ['job-results', 'maintenance'],
        rotates: [],
        watches: [],
      });
    });
  });

  describe('manifests Terraform refuses', () => {
    const refused = (entries: unknown[], message: RegExp): void => {
      const r = harness.plan(harness.writeManifest(entries));
      expect(r.status).not.toBe(0);
      expect(`${r.stdout}\n${r.stderr}`.replace(/\s+/g, ' ')).toMatch(message);
    };

    it('two functions with the same method on one path (variables ignored)', () => {
      refused(
        [http('webhooks-get', 'GET', ['/webhooks/{id}']), http('webhooks-show', 'GET', ['/webhooks/{webhook_id}'])],
        /same method on the same path/,
      );
      refused([http('twice', 'GET', ['/webhooks/{id}', '/webhooks/{webhook_id}'])], /same method on the same path/);
    });

    it('but not two functions with different methods on one path', () => {
      const r = harness.plan(
        harness.writeManifest([
          http('webhooks-get', 'GET', ['/webhooks/{id}']),
          http('webhooks-delete', 'DELETE', ['/webhooks/{webhook_id}']),
        ]),
      );
      expect(r.status === 0 ? 'planned' : `${r.stdout}\n${r.stderr}`).toBe('planned');
    });

    it('an ack deadline that does not outlast the function timeout', () => {
      refused(
        [event('slow', 'pipeline-jobs', { timeoutSeconds: 300, ackDeadlineSeconds: 300 })],
        /ackDeadlineSeconds greater than timeoutSeconds/,
      );
    });

    it('an event function on a topic that does not exist', () => {
      refused([event('lost', 'no-such-topic')], /declared topics/);
    });

    it('duplicate function names', () => {
      refused([http('same', 'GET', ['/a']), http('same', 'GET', ['/b'])], /unique/);
    });

    it('a function that publishes to a topic that does not exist', () => {
      refused(
        [{ ...event('exporter', 'maintenance'), access: access(['database-url'], { publishes: ['nope'] }) }],
        /undeclared secret or topic/,
      );
    });

    it('a function that reads a secret the declaration does not list', () => {
      refused(
        [{ ...event('reader', 'maintenance'), access: access(['no-such-secret']) }],
        /undeclared secret or topic/,
      );
    });
  });

  describe("the functions module's grants, computed from the manifest", () => {
    let grants: Record<string, unknown>;
    beforeAll(() => {
      // The grant maps are locals of modules/functions; evaluate that locals block, unchanged,
      // over the manifest module's output and the root module's real wiring.
      const locals = hclBlockText(readFileSync(join(MODULES_DIR, 'functions', 'main.tf'), 'utf8'), /^locals \{/m);
      grants = evaluateScratch(
        (dir) => `
module "manifest" {
  source   = "${moduleSource(dir, 'manifest')}"
  manifest = jsondecode(file("${MANIFEST_JSON.split('\\').join('/')}"))
}

locals {
  functions      = module.manifest.functions
  uploads_bucket = "uploads-bucket"
  outputs_bucket = "outputs-bucket"
}

${locals.replace(/var\.(functions|uploads_bucket|outputs_bucket)\b/g, 'local.$1')}

output "secret_env" { value = local.secret_env }
output "secret_reads" { value = keys(local.secret_reads) }
output "publishes" { value = keys(local.publishes) }
output "buckets" { value = keys(local.bucket_grants) }
output "kms_users" { value = keys(local.kms_users) }
output "secret_rotations" { value = keys(local.secret_rotations) }
output "secret_watches" { value = keys(local.secret_watches) }
output "url_owners" { value = keys(local.url_owners) }
output "project_grants" { value = keys(local.project_grants) }
output "account_ids" { value = local.account_ids }
`,
      );
    });

    it('gives every function its declared secrets and nothing else', () => {
      const env = grants.secret_env as Record<string, Record<string, string>>;
      for (const entry of manifest) {
        const expected = Object.fromEntries(entry.access.secrets.map((id) => [secretEnv(id), id]));
        expect({ fn: entry.name, env: env[entry.name] }).toEqual({ fn: entry.name, env: expected });
      }
      const reads = grants.secret_reads as string[];
      for (const entry of manifest) {
        const mine = reads.filter((r) => r.startsWith(`${entry.name}|`)).map((r) => r.split('|')[1]);
        expect(mine.sort()).toEqual(Object.values(env[entry.name]!).sort());
      }
    });

    it('grants Pub/Sub, bucket, KMS and signing access only as declared', () => {
      const expectedPublishes = manifest.flatMap((f) => f.access.publishes.map((t) => `${f.name}|${t}`));
      expect((grants.publishes as string[]).sort()).toEqual(expectedPublishes.sort());
      const role = {
        read: 'roles/storage.objectViewer',
        write: 'roles/storage.objectCreator',
        'read-write': 'roles/storage.objectUser',
      } as Record<string, string>;
      const expectedBuckets = manifest.flatMap((f) =>
        (['uploads', 'outputs'] as const).flatMap((b) =>
          f.access[b] !== 'none' ? [`${f.name}|${b}|${role[f.access[b]]}`] : [],
        ),
      );
      expect((grants.buckets as string[]).sort()).toEqual(expectedBuckets.sort());
      const flagged = (flag: 'kms' | 'signUrls'): string[] =>
        manifest
          .filter((f) => f.access[flag])
          .map((f) => f.name)
          .sort();
      expect((grants.kms_users as string[]).sort()).toEqual(flagged('kms'));
      expect((grants.url_owners as string[]).sort()).toEqual(flagged('signUrls'));
      expect(flagged('signUrls')).toEqual(['pipeline-batch-results', 'pipeline-result', 'uploads-create']);
    });

    it('manages the versions of the secrets a function rotates, and reads only the metadata of those it watches', () => {
      const roles = ['roles/secretmanager.secretVersionManager', 'roles/secretmanager.secretAccessor'];
      const rotations = manifest.flatMap((f) =>
        (f.access.rotates ?? []).flatMap((id) => roles.map((r) => `${f.name}|${id}|${r}`)),
      );
      expect((grants.secret_rotations as string[]).sort()).toEqual(rotations.sort());
      const watches = manifest.flatMap((f) => (f.access.watches ?? []).map((id) => `${f.name}|${id}`));
      expect((grants.secret_watches as string[]).sort()).toEqual(watches.sort());
      const rotator = manifest.find((f) => f.name === 'secret-rotator')!;
      expect(rotator.access.rotates).toEqual(['database-url', 'database-replica-url', 'metrics-token']);
      // A key a provider issues is watched, never managed or read.
      expect(rotator.access.watches).toContain('elevenlabs-api-key');
      expect(rotator.access.secrets).not.toContain('elevenlabs-api-key');
      expect(manifest.filter((f) => f.access.rotates?.length || f.access.watches?.length).map((f) => f.name)).toEqual([
        'secret-rotator',
      ]);
      expect([rotator.access.uploads, rotator.access.outputs, rotator.access.publishes]).toEqual(['none', 'none', []]);
    });

    it('gives every function only logging, metrics and tracing at the project level', () => {
      const expected = manifest.flatMap((f) =>
        ['roles/logging.logWriter', 'roles/monitoring.metricWriter', 'roles/cloudtrace.agent'].map(
          (r) => `${f.name}|${r}`,
        ),
      );
      expect((grants.project_grants as string[]).sort()).toEqual(expected.sort());
    });

    it('derives a valid, distinct service account id for every function', () => {
      const ids = Object.values(grants.account_ids as Record<string, string>);
      expect(new Set(ids).size).toBe(manifest.length);
      for (const id of ids) expect(id).toMatch(/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/);
    });
  });

  it('reads the same manifest file the root module reads', () => {
    expect(MANIFEST_JSON).toBe(join(TF_DIR, '..', 'functions', 'manifest.json'));
  });
});
