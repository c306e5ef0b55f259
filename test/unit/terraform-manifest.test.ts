/**
 * Evaluates terraform/modules/manifest with the terraform binary (the module has no provider,
 * so this works offline) and checks what Terraform will actually deploy against
 * functions/manifest.json: every function, every route in the right order, every subscription.
 * Without a terraform binary the suite says so: a skipped test naming the reason, or a failure
 * in CI (describeWithTerraform in test/support/terraform.ts).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TOPICS } from '../../shared/platform/manifest';
import {
  MANIFEST_JSON,
  MODULES_DIR,
  ManifestHarness,
  TF_DIR,
  evaluateScratch,
  hclBlockText,
  moduleSource,
  readManifest,
  describeWithTerraform,
  type ManifestEntry,
} from '../support/terraform';

interface Route {
  function: string;
  path: string;
  match: 'full_path_match' | 'path_template_match';
  pattern: string;
  priority: number;
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

/** What the load balancer does with the routes: the matching rule with the lowest priority wins. */
function routeOf(routes: Route[], path: string): string | undefined {
  const sorted = [...routes].sort((a, b) => a.priority - b.priority);
  for (const r of sorted) {
    if (r.match === 'full_path_match' && r.pattern === path) return r.function;
    if (r.match === 'path_template_match') {
      const pattern = r.pattern.split('/');
      const segments = path.split('/');
      if (pattern.length !== segments.length) continue;
      // {name=*} and * match exactly one non-empty segment.
      if (pattern.every((p, i) => (/^\{[^}]+=\*\}$/.test(p) || p === '*' ? segments[i] !== '' : p === segments[i])))
        return r.function;
    }
  }
  return undefined;
}

/** A concrete request path for a declared path: every {var} becomes an id-like segment. */
const concrete = (path: string): string => path.replace(/\{[^}]+\}/g, 'job_01HZX3K9');

const envName = (id: string): string => id.toUpperCase().replace(/[^A-Z0-9]/g, '_');

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
      expect(fn.secret_env).toEqual(Object.fromEntries(entry.access.secrets.map((id) => [envName(id), id])));
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

    it('routes every declared path, and only declared paths, to the function that declares it', () => {
      const declared = manifest.flatMap((f) => (f.paths ?? []).map((path) => ({ fn: f.name, path })));
      expect(out.routes.map((r) => `${r.path} -> ${r.function}`).sort()).toEqual(
        declared.map((d) => `${d.path} -> ${d.fn}`).sort(),
      );
      for (const d of declared)
        expect({ path: d.path, routedTo: routeOf(out.routes, concrete(d.path)) }).toEqual({
          path: d.path,
          routedTo: d.fn,
        });
      expect(routeOf(out.routes, '/nope')).toBeUndefined();
      expect(routeOf(out.routes, '/pipeline/a/b/c/d')).toBeUndefined();
    });

    it('orders routes: unique priorities, exact paths before templates', () => {
      const priorities = out.routes.map((r) => r.priority);
      expect(new Set(priorities).size).toBe(priorities.length);
      const exact = out.routes.filter((r) => r.match === 'full_path_match').map((r) => r.priority);
      const templates = out.routes.filter((r) => r.match === 'path_template_match').map((r) => r.priority);
      if (exact.length && templates.length) expect(Math.max(...exact)).toBeLessThan(Math.min(...templates));
      for (const r of out.routes) {
        if (r.path.includes('{')) {
          expect(r.match).toBe('path_template_match');
          expect(r.pattern).toBe(r.path.replace(/\{([^}]+)\}/g, '{$1=*}'));
        } else {
          expect(r.match).toBe('full_path_match');
          expect(r.pattern).toBe(r.path);
        }
      }
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
      http('webhooks-register', 'POST', ['/webhooks/register']),
      http('webhooks-list', 'GET', ['/webhooks/list']),
      http('webhooks-delete', 'DELETE', ['/webhooks/{id}']),
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
    beforeAll(() => {
      const secret = (env: string) => ({ description: env, rotate: false, env });
      g = harness.evaluate(
        harness.writeManifest(grown, {
          'upload-signing-key': secret('UPLOAD_SIGNING_KEY'),
          'slack-webhook-url': secret('SLACK_WEBHOOK_URL'),
        }),
      ) as unknown as Evaluated;
    });

    it('deploys every new function without any Terraform change', () => {
      expect(Object.keys(g.functions).sort()).toEqual(grown.map((f) => f.name).sort());
      expect(Object.keys(g.event_functions)).toHaveLength(6);
    });

    it('routes literal segments before variables at the same depth', () => {
      const cases: [string, string][] = [
        ['/pipeline/run', 'pipeline-run'],
        ['/pipeline/batch', 'batch-submit'],
        ['/pipeline/job_123', 'pipeline-status'],
        ['/pipeline/job_123/result', 'pipeline-result'],
        ['/pipeline/job_123/cancel', 'pipeline-cancel'],
        ['/pipeline/batch/b_1', 'batch-status'],
        ['/pipeline/batch/b_1/results', 'batch-results'],
        ['/pipeline/batch/b_1/cancel', 'batch-cancel'],
        ['/webhooks/register', 'webhooks-register'],
        ['/webhooks/list', 'webhooks-list'],
        ['/webhooks/wh_1', 'webhooks-delete'],
        ['/webhooks/wh_1/rotate-secret', 'webhooks-rotate-secret'],
        ['/openapi.json', 'docs'],
        ['/docs', 'docs'],
        ['/health/ready', 'health'],
        ['/uploads', 'uploads'],
      ];
      for (const [path, fn] of cases)
        expect({ path, routedTo: routeOf(g.routes, path) }).toEqual({ path, routedTo: fn });
      expect(routeOf(g.routes, '/pipeline/batch/b_1/unknown')).toBeUndefined();
      expect(routeOf(g.routes, '/webhooks')).toBeUndefined();
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
      });
    });
  });

  describe('manifests Terraform refuses', () => {
    const refused = (entries: unknown[], message: RegExp): void => {
      const r = harness.plan(harness.writeManifest(entries));
      expect(r.status).not.toBe(0);
      expect(`${r.stdout}\n${r.stderr}`.replace(/\s+/g, ' ')).toMatch(message);
    };

    it('two functions on one path, since the load balancer cannot route on the method', () => {
      refused(
        [http('webhooks-get', 'GET', ['/webhooks/{id}']), http('webhooks-delete', 'DELETE', ['/webhooks/{webhookId}'])],
        /share a path/,
      );
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
output "url_owners" { value = keys(local.url_owners) }
output "project_grants" { value = keys(local.project_grants) }
output "account_ids" { value = local.account_ids }
`,
      );
    });

    it('gives every function its declared secrets and nothing else', () => {
      const env = grants.secret_env as Record<string, Record<string, string>>;
      for (const entry of manifest) {
        const expected = Object.fromEntries(entry.access.secrets.map((id) => [envName(id), id]));
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
      expect(flagged('signUrls')).toEqual(['pipeline-result']);
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
