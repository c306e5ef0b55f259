/**
 * The Terraform estate, checked offline: every .tf file is parsed (no provider download) and its
 * structure is cross-checked against functions/manifest.json. The companion
 * terraform-manifest.test.ts evaluates the manifest module itself with the terraform binary.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { CONFIG_VARIABLES } from '../../shared/config';
import { DEAD_LETTER_KEEP_SECONDS } from '../../shared/maintenance/retention';
import { SECRETS, TOPICS } from '../../shared/platform/manifest';
import {
  MODULES_DIR,
  ROOT,
  TF_DIR,
  allBlocks,
  block,
  blocks,
  describeWithTerraform,
  dynamicBlocks,
  isBlock,
  loadModule,
  moduleNames,
  readManifest,
  readManifestDocument,
  resource,
  strings,
  terraformEnv,
  variableDefault,
  type Block,
  type TfModule,
} from '../support/terraform';

const EXPECTED_MODULES = [
  'cache',
  'database',
  'edge',
  'functions',
  'kms',
  'manifest',
  'messaging',
  'monitoring',
  'network',
  'scheduler',
  'secrets',
  'storage',
];

const manifest = readManifest();
const httpFns = manifest.filter((f) => f.kind === 'http');
const eventFns = manifest.filter((f) => f.kind === 'event');

let root: TfModule;
const mods: Record<string, TfModule> = {};

const mod = (name: string): TfModule => {
  const m = mods[name];
  if (!m) throw new Error(`module ${name} not loaded`);
  return m;
};

beforeAll(async () => {
  root = await loadModule(TF_DIR);
  for (const name of moduleNames()) mods[name] = await loadModule(join(MODULES_DIR, name));
});

/** Module call of the root module. */
const call = (name: string): Block => {
  const m = root.modules[name];
  if (!m) throw new Error(`root module does not call module "${name}"`);
  return m;
};

const defaultNumber = (m: TfModule, name: string): number => Number(variableDefault(m, name));

describe('layout (terraform-google-modules)', () => {
  it('has every module of the estate', () => {
    expect(moduleNames()).toEqual(expect.arrayContaining(EXPECTED_MODULES));
  });

  it.each(EXPECTED_MODULES)('module %s has main.tf, variables.tf, outputs.tf, versions.tf and README.md', (name) => {
    for (const file of ['main.tf', 'variables.tf', 'outputs.tf', 'versions.tf', 'README.md']) {
      expect(existsSync(join(MODULES_DIR, name, file))).toBe(true);
    }
  });

  it('pins google and google-beta to a bounded range in the root and every module with resources', () => {
    const withProviders = [root, ...EXPECTED_MODULES.filter((n) => n !== 'manifest').map(mod)];
    for (const m of withProviders) {
      const required = block(block(m.terraform.find((t) => t.required_providers))['required_providers']);
      for (const provider of ['google', 'google-beta']) {
        const p = required[provider];
        expect(isBlock(p)).toBe(true);
        const version = String((p as Block).version);
        expect(version).toMatch(/>=\s*\d/);
        expect(version).toMatch(/<\s*\d/);
      }
    }
  });

  it('keeps the manifest module free of providers (the tests evaluate it offline)', () => {
    const m = mod('manifest');
    expect(m.terraform.some((t) => t.required_providers)).toBe(false);
    expect(Object.keys(m.resources)).toHaveLength(0);
    expect(Object.keys(m.data)).toHaveLength(0);
  });

  it('types and describes every variable, everywhere', () => {
    for (const m of [root, ...Object.values(mods)]) {
      for (const [name, v] of Object.entries(m.variables)) {
        expect({ where: `${m.dir}:${name}`, type: typeof v.type }).toEqual({
          where: `${m.dir}:${name}`,
          type: 'string',
        });
        expect({ where: `${m.dir}:${name}`, description: String(v.description ?? '').length > 10 }).toEqual({
          where: `${m.dir}:${name}`,
          description: true,
        });
      }
    }
  });

  it('describes every output', () => {
    for (const m of [root, ...Object.values(mods)]) {
      for (const [name, o] of Object.entries(m.outputs)) {
        expect({ where: `${m.dir}:${name}`, described: typeof o.description === 'string' }).toEqual({
          where: `${m.dir}:${name}`,
          described: true,
        });
      }
    }
  });

  it('uses a GCS backend configured at init time', () => {
    const backend = root.terraform.find((t) => t.backend);
    expect(backend).toBeDefined();
    expect(Object.keys(block(backend!.backend))).toEqual(['gcs']);
  });
});

describe('manifest wiring', () => {
  it('reads functions/manifest.json in the root module and hands it to the manifest module', () => {
    expect(String(root.locals.manifest)).toBe('${jsondecode(file("${path.module}/../functions/manifest.json"))}');
    expect(call('manifest').manifest).toBe('${local.manifest}');
    expect(call('manifest').source).toBe('./modules/manifest');
  });

  it('keeps every manifest entry: no filter between manifest.json and the maps the modules deploy', () => {
    const locals = mod('manifest').locals;
    expect(String(locals.entries)).toBe('${{ for f in var.manifest.functions : f.name => f }}');
    expect(String(locals.functions)).toMatch(/^\$\{\{\s*for name, f in local\.entries : name => \{/);
    expect(String(locals.functions)).not.toMatch(/\bif\b/);
    expect(String(locals.http_functions)).toMatch(/if f\.kind == "http"/);
    expect(String(locals.event_functions)).toMatch(/if f\.kind == "event"/);
    expect(String(locals.route_list)).toMatch(/for p in f\.paths/);
    expect(String(locals.route_groups)).toMatch(/sort\(keys\(local\.route_by_sort_key\)\)/);
    expect(String(locals.routes)).toMatch(/for i, r in local\.route_sequence/);
    expect(String(locals.routes)).not.toMatch(/\bif\b/);
  });

  it('deploys every manifest function through the functions module', () => {
    expect(call('functions').functions).toBe('${module.manifest.functions}');
  });

  it('routes every http function through the edge module and subscribes every event function', () => {
    expect(call('edge').http_functions).toBe('${module.manifest.http_functions}');
    expect(call('edge').routes).toBe('${module.manifest.routes}');
    expect(call('edge').http_methods).toBe('${module.manifest.http_methods}');
    expect(call('messaging').event_functions).toBe('${module.manifest.event_functions}');
    expect(call('messaging').topics).toBe('${module.manifest.topics}');
  });

  it('takes the topics from the platform declaration alone (TOPICS in shared/platform/manifest.ts)', () => {
    expect(mod('manifest').locals.topics).toBe('${var.manifest.topics}');
    expect(mod('messaging').variables.topics?.default).toBeUndefined();
    expect(call('messaging').topics).toBe('${module.manifest.topics}');
    expect(readManifestDocument().topics).toEqual(Object.keys(TOPICS));
  });

  it('has a manifest with both kinds of function to check against', () => {
    expect(httpFns.length).toBeGreaterThan(0);
    expect(eventFns.length).toBeGreaterThan(0);
  });
});

describe('functions module', () => {
  let fn: Block;
  let service: Block;
  beforeAll(() => {
    fn = resource(mod('functions'), 'google_cloudfunctions2_function', 'this');
    service = block(fn.service_config);
  });

  it('deploys one Cloud Run function per manifest entry', () => {
    expect(fn.for_each).toBe('${var.functions}');
    expect(fn.name).toBe('${each.key}');
  });

  it('builds from the bucket object functions/<name>/<version>.zip with the manifest name as entry point', () => {
    const build = block(fn.build_config);
    expect(build.entry_point).toBe('${each.value.entry_point}');
    expect(build.runtime).toBe('${var.runtime}');
    expect(variableDefault(mod('functions'), 'runtime')).toBe('nodejs20');
    const source = block(block(build.source).storage_source);
    expect(source.bucket).toBe('${var.source_bucket}');
    expect(source.object).toBe(
      'functions/${each.key}/${lookup(var.source_versions, each.key, var.source_version)}.zip',
    );
    expect(call('functions').source_version).toBe('${var.source_version}');
    expect(call('functions').source_bucket).toBe('${module.storage.sources_bucket}');
  });

  it('takes memory, cpu, timeout and instance bounds from the manifest', () => {
    expect(service.available_memory).toBe('${each.value.memory}');
    expect(service.available_cpu).toBe('${each.value.cpu}');
    expect(service.timeout_seconds).toBe('${each.value.timeout_seconds}');
    expect(service.max_instance_count).toBe('${each.value.max_instances}');
    expect(service.min_instance_count).toBe('${each.value.min_instances}');
  });

  it('gives each function its own service account', () => {
    const sa = resource(mod('functions'), 'google_service_account', 'runtime');
    expect(sa.for_each).toBe('${var.functions}');
    expect(service.service_account_email).toBe('${google_service_account.runtime[each.key].email}');
  });

  it('exposes secrets as secret environment variables and grants access per secret', () => {
    const secretEnv = dynamicBlocks(service, 'secret_environment_variables');
    expect(secretEnv).toHaveLength(1);
    expect(secretEnv[0]!.for_each).toBe('${local.secret_env[each.key]}');
    const access = resource(mod('functions'), 'google_secret_manager_secret_iam_member', 'runtime_read');
    expect(access.role).toBe('roles/secretmanager.secretAccessor');
    expect(access.for_each).toBe('${local.secret_reads}');
  });

  it('sets the application environment from the real resources', () => {
    const env = block(root.locals.function_environment);
    expect(Object.keys(env)).toEqual(
      expect.arrayContaining([
        'AIPROD_MODE',
        'GOOGLE_CLOUD_PROJECT',
        'AIPROD_UPLOADS_BUCKET',
        'AIPROD_OUTPUTS_BUCKET',
        'REDIS_URL',
        'LOG_LEVEL',
      ]),
    );
    expect(env.AIPROD_MODE).toBe('gcp');
    expect(env.GOOGLE_CLOUD_PROJECT).toBe('${var.project_id}');
    expect(env.AIPROD_UPLOADS_BUCKET).toBe('${module.storage.uploads_bucket}');
    expect(env.AIPROD_OUTPUTS_BUCKET).toBe('${module.storage.outputs_bucket}');
    // Only what the configuration reads (shared/config.ts).
    for (const name of Object.keys(env)) expect(CONFIG_VARIABLES).toContain(name);
    expect(env.REDIS_URL).toBe('${module.cache.url}');
    expect(env.LOG_LEVEL).toBe('${var.log_level}');
    const perFunction = String(service.environment_variables);
    expect(perFunction).toContain('merge(var.environment');
    expect(perFunction).toContain('DATABASE_POOL_MAX = tostring(each.value.db_pool_max)');
    // The KMS key is named to the functions granted it, and to no other.
    expect(perFunction).toContain('each.value.access.kms ? { AIPROD_KMS_KEY = var.app_kms_key_id } : {}');
    expect(String(resource(mod('cache'), 'google_redis_instance', 'this').transit_encryption_mode)).toBe(
      'SERVER_AUTHENTICATION',
    );
    expect(String(mod('cache').outputs.url?.value)).toMatch(/^rediss:\/\//);
    expect(call('functions').environment).toBe('${local.function_environment}');
  });

  it('uses VPC egress through the connector', () => {
    expect(service.vpc_connector).toBe('${var.vpc_connector_id}');
    expect(service.vpc_connector_egress_settings).toBe('${var.vpc_egress}');
    expect(call('functions').vpc_connector_id).toBe('${module.network.connector_id}');
  });

  it('keeps http functions behind the load balancer and event functions internal', () => {
    expect(service.ingress_settings).toBe('${each.value.ingress}');
    expect(String(mod('manifest').locals.functions)).toContain(
      'ingress = f.kind == "http" ? "ALLOW_INTERNAL_AND_GCLB" : "ALLOW_INTERNAL_ONLY"',
    );
  });

  it('grants invokers: allUsers behind the load balancer for http, the push invoker for event', () => {
    const pub = resource(mod('functions'), 'google_cloud_run_v2_service_iam_member', 'http_public');
    expect(pub.role).toBe('roles/run.invoker');
    expect(String(pub.for_each)).toContain('local.http_functions');
    const push = resource(mod('functions'), 'google_cloud_run_v2_service_iam_member', 'event_push');
    expect(push.role).toBe('roles/run.invoker');
    expect(push.for_each).toBe('${local.event_functions}');
    expect(push.member).toBe('serviceAccount:${google_service_account.push_invoker.email}');
  });

  it('creates exactly the secrets the platform declaration lists', () => {
    expect(root.locals.secrets).toBe('${module.manifest.secrets}');
    expect(Object.keys(readManifestDocument().secrets)).toEqual(Object.keys(SECRETS));
    expect(resource(mod('secrets'), 'google_secret_manager_secret', 'this').for_each).toBe('${var.secrets}');
    expect(call('functions').available_secrets).toBe('${module.secrets.secret_names}');
  });
});

describe('edge module', () => {
  let edge: TfModule;
  beforeAll(() => {
    edge = mod('edge');
  });

  it('has one serverless NEG and one backend service per http function', () => {
    const neg = resource(edge, 'google_compute_region_network_endpoint_group', 'function');
    expect(neg.for_each).toBe('${var.http_functions}');
    expect(neg.network_endpoint_type).toBe('SERVERLESS');
    expect(block(neg.cloud_function).function).toBe('${each.key}');
    const backend = resource(edge, 'google_compute_backend_service', 'function');
    expect(backend.for_each).toBe('${var.http_functions}');
    expect(backend.load_balancing_scheme).toBe('EXTERNAL_MANAGED');
    expect(block(backend.backend).group).toBe('${google_compute_region_network_endpoint_group.function[each.key].id}');
  });

  it('attaches the Cloud Armor policy to every backend service of the estate', () => {
    const all = [root, ...Object.values(mods)].flatMap((m) =>
      Object.entries(m.resources.google_compute_backend_service ?? {}),
    );
    expect(all.length).toBeGreaterThan(0);
    for (const [name, b] of all) {
      expect({ backend: name, policy: b.security_policy }).toEqual({
        backend: name,
        policy: '${google_compute_security_policy.api.id}',
      });
    }
  });

  it('builds the URL map from the manifest routes, one rule per route, matching path and method', () => {
    const urlMap = resource(edge, 'google_compute_url_map', 'api');
    const matcher = block(urlMap.path_matcher);
    const rules = dynamicBlocks(matcher, 'route_rules');
    expect(rules).toHaveLength(1);
    expect(rules[0]!.for_each).toBe('${local.route_rules}');
    expect(String(edge.locals.route_rules)).toMatch(/for r in var\.routes/);
    const content = block(rules[0]!.content);
    expect(content.priority).toBe('${route_rules.value.priority}');
    expect(content.service).toBe('${google_compute_backend_service.function[route_rules.value.function].id}');
    expect(content.match_rules).toBeUndefined();
    const matchRules = dynamicBlocks(content, 'match_rules');
    expect(matchRules).toHaveLength(1);
    expect(matchRules[0]!.for_each).toBe('${route_rules.value.match_rules}');
    const match = block(matchRules[0]!.content);
    expect(match.full_path_match).toBe('${match_rules.value.full_path_match}');
    expect(match.path_template_match).toBe('${match_rules.value.path_template_match}');
    // The method, as the :method pseudo-header, with an exact match; none on a method-less rule.
    const headers = dynamicBlocks(match, 'header_matches');
    expect(headers).toHaveLength(1);
    expect(headers[0]!.for_each).toBe('${match_rules.value.method == null ? [] : [match_rules.value.method]}');
    expect(block(headers[0]!.content)).toEqual({ header_name: ':method', exact_match: '${header_matches.value}' });
    // Undeclared paths never reach a function.
    const fallback = block(block(matcher.default_route_action).fault_injection_policy);
    expect(block(fallback.abort)).toEqual({ http_status: 404, percentage: 100 });
  });

  it('is a global external Application Load Balancer (EXTERNAL_MANAGED), which method matching needs', () => {
    expect(resource(edge, 'google_compute_backend_service', 'function').load_balancing_scheme).toBe('EXTERNAL_MANAGED');
    for (const name of ['https', 'http'])
      expect(resource(edge, 'google_compute_global_forwarding_rule', name).load_balancing_scheme).toBe(
        'EXTERNAL_MANAGED',
      );
    expect(String(edge.variables.routes!.type)).toMatch(/methods\s*=\s*list\(string\)/);
  });

  it('serves HTTPS with a managed certificate and redirects HTTP to HTTPS', () => {
    expect(block(resource(edge, 'google_compute_managed_ssl_certificate', 'api').managed).domains).toBe(
      '${var.domains}',
    );
    const redirect = block(resource(edge, 'google_compute_url_map', 'https_redirect').default_url_redirect);
    expect(redirect.https_redirect).toBe(true);
    expect(resource(edge, 'google_compute_global_forwarding_rule', 'https').port_range).toBe('443');
    expect(resource(edge, 'google_compute_global_forwarding_rule', 'http').port_range).toBe('80');
    expect(resource(edge, 'google_compute_global_forwarding_rule', 'http').target).toBe(
      '${google_compute_target_http_proxy.redirect.id}',
    );
    expect(resource(edge, 'google_compute_ssl_policy', 'api').min_tls_version).toBe('TLS_1_2');
  });

  describe('Cloud Armor policy', () => {
    let policy: Block;
    let rules: Block[];
    const expressions = (): string[] =>
      rules.flatMap((r) => blocks(r.match).flatMap((m) => blocks(m.expr).map((e) => String(e.expression))));
    beforeAll(() => {
      policy = resource(edge, 'google_compute_security_policy', 'api');
      rules = allBlocks(policy, 'rule');
    });

    it('enables the preconfigured WAF rule sets', () => {
      const waf = Object.values(block(edge.locals.waf_rules));
      for (const set of ['sqli', 'xss', 'lfi', 'rce', 'scannerdetection']) expect(waf).toContain(`${set}-v33-stable`);
      expect(expressions()).toContain(
        "evaluatePreconfiguredWaf('${rule.value}', {'sensitivity': ${var.waf_sensitivity}})",
      );
    });

    it('allows only the manifest methods (plus HEAD and OPTIONS)', () => {
      expect(expressions()).toContain('!request.method.matches(\'^(${join("|", local.allowed_methods)})$\')');
      expect(String(edge.locals.allowed_methods)).toContain('var.http_methods');
      expect(variableDefault(edge, 'extra_allowed_methods')).toEqual(['HEAD', 'OPTIONS']);
    });

    it('limits request bodies to 10 MB', () => {
      expect(expressions()).toContain("int(request.headers['content-length']) > ${var.max_body_bytes}");
      expect(defaultNumber(edge, 'max_body_bytes')).toBe(10 * 1024 * 1024);
    });

    it('blocks the regions of a variable', () => {
      expect(expressions().some((e) => e.includes('origin.region_code') && e.includes('var.geo_block_regions'))).toBe(
        true,
      );
      expect(call('edge').geo_block_regions).toBe('${var.geo_block_regions}');
    });

    it('bans an IP for 10 minutes after 1000 requests in a minute', () => {
      const ban = rules.find((r) => r.action === 'rate_based_ban');
      expect(ban).toBeDefined();
      const options = block(ban!.rate_limit_options);
      expect(options.enforce_on_key).toBe('IP');
      expect(options.ban_duration_sec).toBe('${var.ban_duration_sec}');
      const threshold = block(options.rate_limit_threshold);
      expect(threshold.count).toBe('${var.rate_limit_count}');
      expect(threshold.interval_sec).toBe('${var.rate_limit_interval_sec}');
      expect(defaultNumber(edge, 'rate_limit_count')).toBe(1000);
      expect(defaultNumber(edge, 'rate_limit_interval_sec')).toBe(60);
      expect(defaultNumber(edge, 'ban_duration_sec')).toBe(600);
      expect(defaultNumber(root, 'rate_limit_per_minute')).toBe(1000);
      // Evaluated after every deny rule: a conforming request is allowed by this rule.
      const denies = rules.filter((r) => String(r.action).startsWith('deny')).map((r) => r.priority);
      for (const p of denies) {
        if (typeof p === 'number') expect(p).toBeLessThan(Number(ban!.priority));
      }
      expect(Object.keys(edge.locals.waf_rules as Block).every((p) => Number(p) < Number(ban!.priority))).toBe(true);
    });

    it('turns on adaptive protection and verbose logging', () => {
      expect(block(block(policy.adaptive_protection_config).layer_7_ddos_defense_config).enable).toBe(true);
      expect(block(policy.advanced_options_config).log_level).toBe('VERBOSE');
    });

    it('puts every rule but the default under the preview variable', () => {
      for (const r of rules) {
        if (r.priority === 2147483647) continue;
        expect({ rule: r.description, preview: r.preview }).toEqual({
          rule: r.description,
          preview: '${var.armor_preview}',
        });
      }
      expect(rules.some((r) => r.priority === 2147483647 && r.action === 'allow')).toBe(true);
      expect(call('edge').armor_preview).toBe('${var.armor_preview}');
      expect(variableDefault(root, 'armor_preview')).toBe(false);
    });
  });
});

describe('messaging module', () => {
  let messaging: TfModule;
  let push: Block;
  beforeAll(() => {
    messaging = mod('messaging');
    push = resource(messaging, 'google_pubsub_subscription', 'push');
  });

  it('creates every topic with a dead-letter topic and a subscription holding its dead letters', () => {
    expect(resource(messaging, 'google_pubsub_topic', 'this').for_each).toBe('${toset(var.topics)}');
    const dl = resource(messaging, 'google_pubsub_topic', 'dead_letter');
    expect(dl.for_each).toBe('${toset(var.topics)}');
    expect(dl.name).toBe('${each.key}-dead-letter');
    const hold = resource(messaging, 'google_pubsub_subscription', 'dead_letter');
    expect(hold.topic).toBe('${google_pubsub_topic.dead_letter[each.key].id}');
  });

  it('keeps dead letters as long as the local bus does, so both stacks keep them alike', () => {
    const hold = resource(messaging, 'google_pubsub_subscription', 'dead_letter');
    expect(hold.message_retention_duration).toBe('${var.message_retention}');
    expect(variableDefault(messaging, 'message_retention')).toBe(`${DEAD_LETTER_KEEP_SECONDS}s`);
    // The root leaves the module's default: a value there would have to change the code's too.
    expect(call('messaging').message_retention).toBeUndefined();
  });

  it('has one push subscription per event function, on its topic, pushing to the function URL', () => {
    expect(push.for_each).toBe('${var.event_functions}');
    expect(push.topic).toBe('${google_pubsub_topic.this[each.value.topic].id}');
    const cfg = block(push.push_config);
    expect(cfg.push_endpoint).toBe(
      '${var.function_uris[each.key]}/projects/${var.project_id}/topics/${each.value.topic}',
    );
    const oidc = block(cfg.oidc_token);
    expect(oidc.service_account_email).toBe('${var.invoker_service_account}');
    expect(call('messaging').invoker_service_account).toBe('${module.functions.push_invoker_email}');
    expect(call('messaging').function_uris).toBe('${module.functions.event_uris}');
  });

  it('retries with exponential backoff, dead-letters after the manifest attempts, waits past the timeout', () => {
    const retry = block(push.retry_policy);
    expect(retry.minimum_backoff).toBe('${each.value.min_backoff_seconds}s');
    expect(retry.maximum_backoff).toBe('${each.value.max_backoff_seconds}s');
    const dead = block(push.dead_letter_policy);
    expect(dead.dead_letter_topic).toBe('${google_pubsub_topic.dead_letter[each.value.topic].id}');
    expect(dead.max_delivery_attempts).toBe('${each.value.max_delivery_attempts}');
    expect(push.ack_deadline_seconds).toBe('${each.value.ack_deadline_seconds}');
    const validations = blocks(messaging.variables.event_functions?.validation).map((v) => String(v.condition));
    expect(validations).toContain(
      '${alltrue([for f in var.event_functions : f.ack_deadline_seconds > f.timeout_seconds])}',
    );
  });

  it('every event function of the manifest has an ack deadline above its timeout and Pub/Sub-valid settings', () => {
    for (const f of eventFns) {
      expect({ fn: f.name, ok: (f.ackDeadlineSeconds ?? 0) > f.timeoutSeconds }).toEqual({ fn: f.name, ok: true });
      expect(Object.keys(TOPICS)).toContain(f.topic);
      expect(f.maxDeliveryAttempts).toBeGreaterThanOrEqual(5);
    }
  });

  it('lets the Pub/Sub service agent dead-letter: publisher on dead-letter topics, subscriber on push subscriptions', () => {
    const pub = resource(messaging, 'google_pubsub_topic_iam_member', 'dead_letter_publisher');
    expect(pub.role).toBe('roles/pubsub.publisher');
    expect(pub.topic).toBe('${google_pubsub_topic.dead_letter[each.key].name}');
    expect(pub.member).toBe('serviceAccount:${var.pubsub_service_agent}');
    const sub = resource(messaging, 'google_pubsub_subscription_iam_member', 'dead_letter_subscriber');
    expect(sub.role).toBe('roles/pubsub.subscriber');
    expect(sub.for_each).toBe('${var.event_functions}');
    expect(sub.member).toBe('serviceAccount:${var.pubsub_service_agent}');
  });
});

describe('kms module', () => {
  it('rotates every key every 90 days', () => {
    const kms = mod('kms');
    const keys = Object.values(kms.resources.google_kms_crypto_key ?? {});
    expect(keys.length).toBeGreaterThan(0);
    for (const k of keys) expect(k.rotation_period).toBe('${var.rotation_period}');
    expect(variableDefault(kms, 'rotation_period')).toBe('7776000s');
    expect(call('kms').rotation_period).toBe('${var.kms_rotation_period}');
    expect(variableDefault(root, 'kms_rotation_period')).toBe('7776000s');
    // The variable refuses anything longer than 90 days.
    expect(String(block(kms.variables.rotation_period?.validation).condition)).toContain('<= 7776000');
  });

  it('has keys for the database, cache, storage, secrets and application envelope encryption', () => {
    expect(Object.keys(block(mod('kms').locals.keys)).sort()).toEqual([
      'app',
      'cache',
      'database',
      'secrets',
      'storage',
    ]);
    expect(resource(mod('kms'), 'google_kms_crypto_key', 'this').for_each).toBe('${local.keys}');
  });

  it('grants each service agent encrypter/decrypter on its own key', () => {
    const grant = resource(mod('kms'), 'google_kms_crypto_key_iam_member', 'service_agent');
    expect(grant.role).toBe('roles/cloudkms.cryptoKeyEncrypterDecrypter');
    expect(grant.crypto_key_id).toBe('${google_kms_crypto_key.this[each.key].id}');
    const agents = call('kms').service_agents as Block;
    for (const k of ['database', 'cache', 'storage', 'secrets']) expect(typeof agents[k]).toBe('string');
  });
});

describe('database module', () => {
  let db: TfModule;
  let primary: Block;
  let settings: Block;
  beforeAll(() => {
    db = mod('database');
    primary = resource(db, 'google_sql_database_instance', 'primary');
    settings = block(primary.settings);
  });

  it('is PostgreSQL 15, regional (HA), private IP only, SSL required', () => {
    expect(primary.database_version).toBe('POSTGRES_15');
    expect(settings.availability_type).toBe('REGIONAL');
    const ip = block(settings.ip_configuration);
    expect(ip.ipv4_enabled).toBe(false);
    expect(ip.private_network).toBe('${var.network_id}');
    expect(ip.ssl_mode).toBe('ENCRYPTED_ONLY');
  });

  it('backs up daily at 03:00, keeps 30 backups and 7 days of point-in-time recovery', () => {
    const backup = block(settings.backup_configuration);
    expect(backup.enabled).toBe(true);
    expect(backup.start_time).toBe('${var.backup_start_time}');
    expect(variableDefault(db, 'backup_start_time')).toBe('03:00');
    expect(backup.point_in_time_recovery_enabled).toBe(true);
    expect(backup.transaction_log_retention_days).toBe('${var.pitr_days}');
    expect(defaultNumber(db, 'pitr_days')).toBe(7);
    const retention = block(backup.backup_retention_settings);
    expect(retention.retained_backups).toBe('${var.retained_backups}');
    expect(retention.retention_unit).toBe('COUNT');
    expect(defaultNumber(db, 'retained_backups')).toBe(30);
    for (const v of ['backup_start_time', 'pitr_days', 'retained_backups']) expect(call('database')[v]).toBeUndefined();
  });

  it('is encrypted with the database CMEK, deletion-protected, with query insights', () => {
    expect(primary.encryption_key_name).toBe('${var.kms_key_id}');
    expect(call('database').kms_key_id).toBe('${module.kms.database_key_id}');
    expect(primary.deletion_protection).toBe('${var.deletion_protection}');
    expect(variableDefault(db, 'deletion_protection')).toBe(true);
    expect(call('database').deletion_protection).toBeUndefined();
    expect(block(settings.insights_config).query_insights_enabled).toBe(true);
  });

  it('has read replicas counted by a variable', () => {
    const replica = resource(db, 'google_sql_database_instance', 'replica');
    expect(replica.count).toBe('${var.read_replica_count}');
    expect(replica.master_instance_name).toBe('${google_sql_database_instance.primary.name}');
    expect(call('database').read_replica_count).toBe('${var.read_replica_count}');
    expect(defaultNumber(root, 'read_replica_count')).toBeGreaterThanOrEqual(1);
  });

  it('stores the database URL (its password inside) in Secret Manager', () => {
    const seeded = call('secrets').seeded_values as Block;
    expect(seeded['database-url']).toBe('${module.database.database_url}');
    expect(call('secrets').seeded_secret_ids).toEqual([
      'database-url',
      'database-replica-url',
      'key-encryption-key',
      'metrics-token',
    ]);
  });

  it("stores the read replica's URL, the primary's when there is none, as database-replica-url", () => {
    const seeded = call('secrets').seeded_values as Block;
    expect(seeded['database-replica-url']).toBe('${module.database.database_replica_url}');
    expect(Object.keys(SECRETS)).toContain('database-replica-url');
    const readIp = String(db.locals.read_ip);
    expect(readIp).toContain('var.read_replica_count > 0');
    expect(readIp).toContain('google_sql_database_instance.replica[0].private_ip_address');
    expect(readIp).toContain('local.primary_ip');
    expect(String(db.outputs.database_replica_url?.value)).toContain('local.read_ip');
  });
});

describe('cache module', () => {
  it('is Redis 7 STANDARD_HA with AUTH, TLS, private service access, a maintenance window and CMEK', () => {
    const cache = mod('cache');
    const redis = resource(cache, 'google_redis_instance', 'this');
    expect(redis.tier).toBe('STANDARD_HA');
    expect(String(variableDefault(cache, 'redis_version'))).toMatch(/^REDIS_7_/);
    expect(redis.auth_enabled).toBe(true);
    expect(redis.transit_encryption_mode).toBe('SERVER_AUTHENTICATION');
    expect(redis.connect_mode).toBe('PRIVATE_SERVICE_ACCESS');
    expect(redis.customer_managed_key).toBe('${var.kms_key_id}');
    expect(block(redis.maintenance_policy).weekly_maintenance_window).toBeDefined();
    expect(call('cache').kms_key_id).toBe('${module.kms.cache_key_id}');
    expect((call('secrets').managed_values as Block)['redis-auth']).toBe('${module.cache.auth_string}');
  });
});

describe('secrets module', () => {
  let secrets: TfModule;
  let secret: Block;
  beforeAll(() => {
    secrets = mod('secrets');
    secret = resource(secrets, 'google_secret_manager_secret', 'this');
  });

  it('encrypts every secret with the secrets CMEK', () => {
    const replica = block(block(block(secret.replication).user_managed).replicas);
    expect(block(replica.customer_managed_encryption).kms_key_name).toBe('${var.kms_key_id}');
    expect(call('secrets').kms_key_id).toBe('${module.kms.secrets_key_id}');
  });

  it('puts rotating secrets on a 90-day rotation with notices on secret-rotation', () => {
    const rotation = block(dynamicBlocks(secret, 'rotation')[0]?.content);
    expect(rotation.rotation_period).toBe('${var.rotation_period}');
    expect(String(rotation.next_rotation_time)).toContain('timeadd(');
    expect(variableDefault(secrets, 'rotation_period')).toBe('7776000s');
    const topics = dynamicBlocks(secret, 'topics')[0];
    expect(String(topics?.for_each)).toContain('var.rotation_topic_id');
    expect(call('secrets').rotation_topic_id).toBe('${module.messaging.topic_ids["secret-rotation"]}');
  });

  it('rotates third-party keys, and writes the first version of what Terraform generates', () => {
    expect(SECRETS['elevenlabs-api-key'].rotate).toBe(true);
    const secretsCall = call('secrets');
    expect(secretsCall.seeded_secret_ids).toEqual([
      'database-url',
      'database-replica-url',
      'key-encryption-key',
      'metrics-token',
    ]);
    // The key-encryption key's first version: 32 random bytes, as KEY_ENCRYPTION_KEY must be.
    expect(resource(root, 'random_bytes', 'key_encryption_key').length).toBe(32);
    expect((secretsCall.seeded_values as Block)['key-encryption-key']).toBe(
      '${random_bytes.key_encryption_key.base64}',
    );
    // The metrics token: random letters and digits, sent as is in an Authorization header, and rotated.
    const token = resource(root, 'random_password', 'metrics_token');
    expect(token.length).toBeGreaterThanOrEqual(32);
    expect(token.special).toBe(false);
    expect((secretsCall.seeded_values as Block)['metrics-token']).toBe('${random_password.metrics_token.result}');
    expect(SECRETS['metrics-token']).toMatchObject({ rotate: true, env: 'AIPROD_METRICS_TOKEN' });
    expect(secretsCall.managed_secret_ids).toEqual(['redis-auth']);
    for (const id of [
      ...(secretsCall.seeded_secret_ids as string[]),
      ...(secretsCall.managed_secret_ids as string[]),
    ]) {
      expect(Object.keys(SECRETS)).toContain(id);
    }
  });

  it('orders a rotation run on the first day of every third month', () => {
    const job = resource(secrets, 'google_cloud_scheduler_job', 'rotation');
    expect(job.schedule).toBe('${var.rotation_schedule}');
    expect(variableDefault(secrets, 'rotation_schedule')).toBe('0 0 1 */3 *');
    const target = block(job.pubsub_target);
    expect(target.topic_name).toBe('${var.rotation_topic_id}');
    expect(target.data).toBe('${base64encode(jsonencode({ action = "rotate" }))}');
  });

  it('lets the Secret Manager service agent publish rotation notices', () => {
    const grant = resource(secrets, 'google_pubsub_topic_iam_member', 'secret_manager_publisher');
    expect(grant.role).toBe('roles/pubsub.publisher');
    expect(grant.member).toBe('serviceAccount:${var.secret_manager_agent}');
  });
});

describe('scheduler module', () => {
  it('ticks the maintenance topic every minute', () => {
    const sched = mod('scheduler');
    const job = resource(sched, 'google_cloud_scheduler_job', 'maintenance');
    expect(job.schedule).toBe('${var.maintenance_schedule}');
    expect(variableDefault(sched, 'maintenance_schedule')).toBe('* * * * *');
    expect(block(job.pubsub_target).topic_name).toBe('${var.maintenance_topic_id}');
    expect(call('scheduler').maintenance_topic_id).toBe('${module.messaging.topic_ids["maintenance"]}');
    expect(eventFns.some((f) => f.topic === 'maintenance')).toBe(true);
  });
});

describe('storage module', () => {
  it('has uploads, outputs and sources buckets: uniform access, no public access, CMEK', () => {
    const storage = mod('storage');
    const buckets = storage.resources.google_storage_bucket ?? {};
    expect(Object.keys(buckets).sort()).toEqual(['outputs', 'sources', 'uploads']);
    for (const [name, b] of Object.entries(buckets)) {
      expect({ name, uniform: b.uniform_bucket_level_access }).toEqual({ name, uniform: true });
      expect({ name, pap: b.public_access_prevention }).toEqual({ name, pap: 'enforced' });
      expect({ name, key: block(b.encryption).default_kms_key_name }).toEqual({ name, key: '${var.kms_key_id}' });
    }
    expect(call('storage').kms_key_id).toBe('${module.kms.storage_key_id}');
  });

  it('deletes outputs after 30 days', () => {
    const storage = mod('storage');
    const rules = blocks(resource(storage, 'google_storage_bucket', 'outputs').lifecycle_rule);
    const del = rules.find((r) => block(r.action).type === 'Delete');
    expect(block(del?.condition).age).toBe('${var.outputs_retention_days}');
    expect(defaultNumber(storage, 'outputs_retention_days')).toBe(30);
    expect(defaultNumber(root, 'outputs_retention_days')).toBe(30);
  });

  it("gives the sweeper's retention the lifecycle rules' own variables", () => {
    const storage = mod('storage');
    const env = block(root.locals.function_environment);
    for (const [bucket, variable, envName] of [
      ['outputs', 'outputs_retention_days', 'AIPROD_RETENTION_DAYS'],
      ['uploads', 'uploads_retention_days', 'AIPROD_UPLOADS_RETENTION_DAYS'],
    ] as const) {
      const rules = blocks(resource(storage, 'google_storage_bucket', bucket).lifecycle_rule);
      const del = rules.find((r) => block(r.action).type === 'Delete');
      expect(block(del?.condition).age).toBe(`\${var.${variable}}`);
      expect(call('storage')[variable]).toBe(`\${var.${variable}}`);
      expect(env[envName]).toBe(`\${tostring(var.${variable})}`);
    }
  });

  it('tells the functions how many proxies append to X-Forwarded-For, by default the load balancer alone', () => {
    const env = block(root.locals.function_environment);
    expect(env.AIPROD_TRUSTED_PROXY_HOPS).toBe('${tostring(var.trusted_proxy_hops)}');
    // The same count the code assumes on Google Cloud when the variable is not set.
    expect(defaultNumber(root, 'trusted_proxy_hops')).toBe(2);
  });

  it('notifies upload-finalized of every finished upload, the storage service agent allowed to publish there', () => {
    const storage = mod('storage');
    const notification = resource(storage, 'google_storage_notification', 'uploads_finalized');
    expect(notification.bucket).toBe('${google_storage_bucket.uploads.name}');
    expect(notification.topic).toBe('${var.upload_finalized_topic_id}');
    expect(notification.payload_format).toBe('JSON_API_V1');
    expect(notification.event_types).toEqual(['OBJECT_FINALIZE']);
    expect(notification.depends_on).toEqual(['${google_pubsub_topic_iam_member.storage_publisher}']);
    const grant = resource(storage, 'google_pubsub_topic_iam_member', 'storage_publisher');
    expect(grant.topic).toBe('${var.upload_finalized_topic_id}');
    expect(grant.role).toBe('roles/pubsub.publisher');
    expect(grant.member).toBe('serviceAccount:${var.storage_service_agent}');
    expect(call('storage').upload_finalized_topic_id).toBe('${module.messaging.topic_ids["upload-finalized"]}');
    expect(call('storage').storage_service_agent).toBe(
      '${data.google_storage_project_service_account.this.email_address}',
    );
    expect(eventFns.find((f) => f.topic === 'upload-finalized')?.name).toBe('upload-inspector');
  });
});

describe('network module', () => {
  it('has a VPC, a subnet, private service access and a VPC access connector', () => {
    const net = mod('network');
    resource(net, 'google_compute_network', 'this');
    resource(net, 'google_compute_subnetwork', 'this');
    expect(resource(net, 'google_compute_global_address', 'private_service_access').purpose).toBe('VPC_PEERING');
    expect(resource(net, 'google_service_networking_connection', 'private_service_access').service).toBe(
      'servicenetworking.googleapis.com',
    );
    resource(net, 'google_vpc_access_connector', 'this');
  });
});

describe('monitoring module', () => {
  const POLICIES = [
    'api_5xx_ratio',
    'api_latency_p95',
    'cloudsql_connections',
    'cloudsql_cpu',
    'cloudsql_memory',
    'function_crash',
    'function_oom',
    'dead_letter',
    'pubsub_backlog',
    'backup_failure',
    'job_failures',
    'webhook_disabled',
    'alert_not_posted',
    'secret_rotation_failed',
  ];
  /** The policies that were one resource each before local.alert_policies; later ones never had another address. */
  const FOLDED_POLICIES = POLICIES.slice(0, POLICIES.indexOf('job_failures') + 1);
  let monitoring: TfModule;
  let policy: Block;
  let specs: [string, Block][];
  /** An entry of local.alert_policies. */
  const spec = (key: string): Block => {
    const found = specs.find(([k]) => k === key);
    if (!found) throw new Error(`no alert policy ${key} in local.alert_policies`);
    return found[1];
  };
  /** The (only) condition of a policy whose conditions are written out. */
  const condition = (key: string): Block => block(spec(key).conditions);
  const runbookPath = (s: Block): string => join(ROOT, 'docs', 'runbooks', `${String(s.runbook)}.md`);
  beforeAll(() => {
    monitoring = mod('monitoring');
    policy = resource(monitoring, 'google_monitoring_alert_policy', 'this');
    specs = Object.entries(block(monitoring.locals.alert_policies)).map(([k, v]) => [k, block(v)]);
  });

  it('creates every alert policy from one resource over local.alert_policies, keeping the old addresses', () => {
    expect(Object.keys(monitoring.resources.google_monitoring_alert_policy ?? {})).toEqual(['this']);
    expect(policy.for_each).toBe('${local.alert_policies}');
    expect(specs.map(([k]) => k).sort()).toEqual([...POLICIES].sort());
    expect(policy.display_name).toBe('${var.name_prefix}: ${each.value.title}');
    for (const [key, s] of specs) {
      expect({ policy: key, fields: Object.keys(s).sort() }).toEqual({
        policy: key,
        fields: ['auto_close', 'conditions', 'runbook', 'severity', 'subject', 'summary', 'title'],
      });
      expect(['CRITICAL', 'ERROR', 'WARNING']).toContain(s.severity);
    }
    // Moved from google_monitoring_alert_policy.<key>: an apply updates the policy in place.
    for (const key of FOLDED_POLICIES)
      expect(monitoring.text).toContain(`to   = google_monitoring_alert_policy.this["${key}"]`);
  });

  it('sends every alert policy to the notification channels, which always include one', () => {
    expect(policy.notification_channels).toBe('${local.channels}');
    const channels = String(monitoring.locals.channels);
    expect(channels).toContain('google_monitoring_notification_channel.email');
    expect(channels).toContain('google_monitoring_notification_channel.slack');
    expect(channels).toContain('[google_monitoring_notification_channel.pubsub.id]');
    // Unconditional (no count / for_each): the list is never empty.
    const pubsub = resource(monitoring, 'google_monitoring_notification_channel', 'pubsub');
    expect(pubsub.count).toBeUndefined();
    expect(pubsub.for_each).toBeUndefined();
    expect(block(pubsub.labels).topic).toBe('${var.alerts_topic_id}');
    expect(call('monitoring').alerts_topic_id).toBe('${module.messaging.topic_ids["monitoring-alerts"]}');
  });

  it('links every alert policy to a runbook that exists in docs/runbooks', () => {
    expect(String(monitoring.locals.runbooks)).toContain('docs/runbooks');
    expect(block(policy.documentation).content).toBe(
      '${each.value.summary}\n\nRunbook: ${local.runbooks}/${each.value.runbook}.md\n',
    );
    expect(String(policy.user_labels)).toContain('runbook = each.value.runbook');
    // With a base URL, the link travels in the notification too, where alert-notifier reads it.
    const link = dynamicBlocks(block(policy.documentation), 'links')[0];
    expect(String(link?.for_each)).toBe('${var.runbook_base_url == "" ? [] : [each.value.runbook]}');
    expect(block(link?.content).url).toBe('${local.runbooks}/${links.value}.md');
    for (const [key, s] of specs) {
      expect({ policy: key, runbook: s.runbook }).toEqual({
        policy: key,
        runbook: expect.stringMatching(/^[a-z0-9-]+$/),
      });
      expect({ policy: key, exists: existsSync(runbookPath(s)) }).toEqual({ policy: key, exists: true });
    }
  });

  it('has a runbook for every policy with symptoms, diagnosis, fixes and escalation', () => {
    for (const [, s] of specs) {
      const text = readFileSync(runbookPath(s), 'utf8');
      for (const section of [/^## Symptoms/m, /^## Diagnos/m, /^## (Fix|Fixes|Remediation)/m, /^## Escalation/m])
        expect(text).toMatch(section);
      expect(text).toMatch(/```bash/);
    }
  });

  it('turns every condition into a metric threshold, a ratio when it has a denominator', () => {
    const content = block(dynamicBlocks(policy, 'conditions')[0]?.content);
    expect(String(dynamicBlocks(policy, 'conditions')[0]?.for_each)).toContain('merge(local.condition_defaults, c)');
    const threshold = block(content.condition_threshold);
    expect(threshold.filter).toBe('${conditions.value.filter}');
    expect(threshold.denominator_filter).toBe('${conditions.value.denominator_filter}');
    expect(threshold.comparison).toBe('COMPARISON_GT');
    expect(threshold.threshold_value).toBe('${conditions.value.threshold}');
    expect(threshold.duration).toBe('${conditions.value.duration}');
    expect(block(threshold.aggregations).cross_series_reducer).toBe('${conditions.value.reducer}');
    expect(String(dynamicBlocks(threshold, 'denominator_aggregations')[0]?.for_each)).toContain(
      'conditions.value.denominator_filter == null ? []',
    );
    expect(block(threshold.trigger).count).toBe(1);
    expect(block(monitoring.locals.condition_defaults)).toEqual({
      denominator_filter: null,
      reducer: null,
      group_by: null,
    });
  });

  it('alerts on the 5xx ratio over 1% for 5 minutes and on p95 latency over 1 s', () => {
    const ratio = condition('api_5xx_ratio');
    expect(String(ratio.filter)).toContain('response_code_class=500');
    expect(String(ratio.denominator_filter)).toContain('https/request_count');
    expect(ratio.duration).toBe('300s');
    expect(ratio.threshold).toBe('${var.error_ratio_threshold}');
    expect(defaultNumber(monitoring, 'error_ratio_threshold')).toBe(0.01);
    // 0.01 * 100 is 0.999... in Terraform's arithmetic: the display names print it rounded.
    expect(monitoring.locals.error_ratio_percent).toBe('${format("%.4g", var.error_ratio_threshold * 100)}');
    expect(monitoring.text).not.toMatch(/threshold \* 100\}%/);
    const latency = condition('api_latency_p95');
    expect(latency.reducer).toBe('REDUCE_PERCENTILE_95');
    expect(latency.threshold).toBe('${var.latency_p95_threshold_ms}');
    expect(defaultNumber(monitoring, 'latency_p95_threshold_ms')).toBe(1000);
  });

  it('alerts on Cloud SQL connections, CPU and memory', () => {
    expect(String(condition('cloudsql_connections').filter)).toContain('postgresql/num_backends');
    expect(String(condition('cloudsql_cpu').filter)).toContain('cpu/utilization');
    expect(String(condition('cloudsql_memory').filter)).toContain('memory/utilization');
  });

  it('alerts on dead letters and on the oldest unacked message over 5 minutes', () => {
    const dl = condition('dead_letter');
    expect(String(dl.filter)).toContain('num_undelivered_messages');
    expect(String(dl.filter)).toContain('var.dead_letter_subscriptions');
    expect(call('monitoring').dead_letter_subscriptions).toBe(
      '${values(module.messaging.dead_letter_subscription_names)}',
    );
    // One condition per distinct threshold, at most the 6 a policy holds.
    const backlog = String(spec('pubsub_backlog').conditions);
    expect(backlog).toMatch(/^\$\{\[for threshold, subscriptions in local\.backlog_groups : \{/);
    expect(backlog).toContain('oldest_unacked_message_age');
    expect(block(block(policy.lifecycle).precondition).condition).toBe('${length(each.value.conditions) <= 6}');
    expect(defaultNumber(monitoring, 'oldest_unacked_threshold_seconds')).toBe(300);
  });

  it('builds log-based metrics on the events the code writes and on platform logs', () => {
    const metrics = strings(monitoring.locals.log_metrics).join('\n');
    expect(metrics).toContain('jsonPayload.event="job.failed"');
    expect(metrics).toContain('Container called exit');
    expect(metrics).toContain('Memory limit of');
    expect(metrics).toContain('cloudsql.instances.automatedBackup');
    const uses = (key: string, metric: string): void => {
      expect({ policy: key, filter: String(condition(key).filter) }).toEqual({
        policy: key,
        filter: expect.stringContaining(`local.log_metric_types.${metric}`),
      });
    };
    uses('function_crash', 'function_crash');
    uses('function_oom', 'function_oom');
    uses('backup_failure', 'backup_failed');
    uses('job_failures', 'job_failed');
    uses('webhook_disabled', 'webhook_disabled');
    expect(metrics).toContain('jsonPayload.event="webhook.disabled"');
    uses('alert_not_posted', 'alert_not_posted');
    expect(metrics).toContain('jsonPayload.event="alert.not_posted"');
    uses('secret_rotation_failed', 'secret_rotation_failed');
    expect(metrics).toContain('jsonPayload.event="secret.rotation_failed"');
  });

  it('watches only application events the code writes, in Terraform, dashboards and runbooks', () => {
    const tsFiles = (dir: string): string[] =>
      readdirSync(join(ROOT, dir), { recursive: true, encoding: 'utf8' })
        .filter((f) => f.endsWith('.ts'))
        .map((f) => join(ROOT, dir, f));
    const written = new Set(
      [...tsFiles('shared'), ...tsFiles('functions')].flatMap((f) =>
        [...readFileSync(f, 'utf8').matchAll(/\bevent: ['"]([\w.-]+)['"]/g)].map((m) => m[1]!),
      ),
    );
    expect(written).toContain('job.failed');
    const dashboards = join(MODULES_DIR, 'monitoring', 'dashboards');
    const runbooks = join(ROOT, 'docs', 'runbooks');
    const watched = [
      { where: 'terraform', text: [root, ...Object.values(mods)].map((m) => m.text).join('\n') },
      ...readdirSync(dashboards).map((f) => ({ where: f, text: readFileSync(join(dashboards, f), 'utf8') })),
      ...readdirSync(runbooks).map((f) => ({ where: f, text: readFileSync(join(runbooks, f), 'utf8') })),
    ].flatMap(({ where, text }) =>
      [...text.matchAll(/jsonPayload\.event\s*=\s*\\*"([\w.-]+)/g)].map((m) => ({ where, event: m[1]! })),
    );
    expect(watched.length).toBeGreaterThan(0);
    for (const w of watched) expect({ ...w, written: written.has(w.event) }).toEqual({ ...w, written: true });
  });

  it('ships the API, infrastructure, database and business dashboards as JSON, charting only metrics that exist', () => {
    const dash = resource(monitoring, 'google_monitoring_dashboard', 'this');
    expect(String(dash.for_each)).toContain('"api", "infrastructure", "database", "business"');
    const logMetrics = Object.values(block(monitoring.locals.log_metrics)).map((m) => String(block(m).name));
    for (const name of ['api', 'infrastructure', 'database', 'business']) {
      const file = join(MODULES_DIR, 'monitoring', 'dashboards', `${name}.json`);
      const text = readFileSync(file, 'utf8');
      const json = JSON.parse(text) as Block;
      expect(typeof json.displayName).toBe('string');
      expect(blocks(block(json.mosaicLayout).tiles).length).toBeGreaterThan(3);
      for (const [, metric] of text.matchAll(/logging\.googleapis\.com\/user\/\$\{name_prefix\}-([\w-]+)/g)) {
        expect({ dashboard: name, metric, exists: logMetrics.includes(`\${var.name_prefix}-${metric}`) }).toEqual({
          dashboard: name,
          metric,
          exists: true,
        });
      }
    }
  });
});

describe('least privilege', () => {
  const PRIMITIVE = /^roles\/(owner|editor|viewer)$/;

  it('grants no primitive role anywhere in Terraform', () => {
    for (const m of [root, ...Object.values(mods)]) {
      for (const s of strings([m.resources, m.locals, m.variables, m.modules])) {
        expect({ where: m.dir, role: PRIMITIVE.test(s.trim()) ? s : null }).toEqual({ where: m.dir, role: null });
      }
      expect(m.text).not.toMatch(/roles\/(owner|editor|viewer)"/);
    }
  });

  it('grants only predefined roles, never at a wider scope than needed for secrets, topics and keys', () => {
    for (const m of [root, ...Object.values(mods)]) {
      for (const [type, byName] of Object.entries(m.resources)) {
        if (!type.endsWith('_iam_member')) continue;
        for (const [name, r] of Object.entries(byName)) {
          expect({
            resource: `${type}.${name}`,
            role: String(r.role).startsWith('roles/') || String(r.role).startsWith('${'),
          }).toEqual({
            resource: `${type}.${name}`,
            role: true,
          });
        }
      }
    }
    const projectRoles = String(mod('functions').locals.runtime_project_roles);
    expect(projectRoles).not.toMatch(/secretmanager|pubsub|storage|cloudkms|admin/);
  });

  it('documents no primitive role for the deployer or any other account', () => {
    const docs = readdirSync(join(ROOT, 'docs'), { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.md'))
      .map((f) => join(ROOT, 'docs', f));
    for (const file of [...docs, join(ROOT, 'cloudbuild.yaml')]) {
      expect({
        file,
        primitive: /--role[= ]+"?roles\/(owner|editor|viewer)\b/.test(readFileSync(file, 'utf8')),
      }).toEqual({ file, primitive: false });
    }
  });
});

describe('Cloud Build', () => {
  const yaml = readFileSync(join(ROOT, 'cloudbuild.yaml'), 'utf8');

  it('installs with a system ffmpeg, lints, typechecks, tests and builds one bundle per function', () => {
    expect(yaml).toMatch(/apt-get install[^\n]*ffmpeg/);
    expect(yaml).toMatch(/FFMPEG_BIN=\/usr\/bin\/ffmpeg/);
    expect(yaml).toMatch(/npm ci --no-audit/);
    expect(yaml).toMatch(/args: \[run, lint\]/);
    expect(yaml).toMatch(/args: \[run, typecheck\]/);
    expect(yaml).toMatch(/npx jest/);
    expect(yaml).toMatch(/args: \[run, build\]/);
  });

  it('uploads every archive as functions/<name>/<version>.zip, the object Terraform deploys', () => {
    expect(yaml).toMatch(/dist\/functions\/\*\.zip/);
    expect(yaml).toContain('gs://${_SOURCES_BUCKET}/functions/$$name/${_SOURCE_VERSION}.zip');
    expect(yaml).toContain('-var=source_version=${_SOURCE_VERSION}');
  });

  it('checks formatting, validates, plans, and applies only when _APPLY is "true"', () => {
    expect(yaml).toMatch(/args: \[fmt, -check, -recursive/);
    expect(yaml).toMatch(/args: \[validate\]/);
    expect(yaml).toMatch(/- plan\n/);
    expect(yaml).toMatch(/_APPLY: "false"/);
    expect(yaml).toMatch(
      /if \[ "\$\{_APPLY\}" = "true" \]; then\n\s+terraform apply -input=false -lock-timeout=300s tfplan/,
    );
  });
});

describe('operations documentation', () => {
  const doc = (path: string): string => readFileSync(join(ROOT, 'docs', path), 'utf8');

  it('has bootstrap, rollout/rollback, disaster recovery, SLA, escalation and Cloud Build pages', () => {
    for (const path of [
      'operations/bootstrap.md',
      'operations/rollout-rollback.md',
      'disaster-recovery.md',
      'sla.md',
      'escalation.md',
      'cloud-build.md',
    ]) {
      expect(existsSync(join(ROOT, 'docs', path))).toBe(true);
    }
    expect(existsSync(join(TF_DIR, 'README.md'))).toBe(true);
  });

  it('gives RTO and RPO for restore, point-in-time recovery, replica promotion and region loss', () => {
    const dr = doc('disaster-recovery.md');
    expect(dr).toMatch(/RTO/);
    expect(dr).toMatch(/RPO/);
    expect(dr).toMatch(/point-in-time/i);
    expect(dr).toMatch(/promote-replica/);
    expect(dr).toMatch(/region/i);
    expect(dr).toMatch(/gcloud sql backups restore/);
  });

  it('uses the real resource names in the runbooks', () => {
    const runbooks = join(ROOT, 'docs', 'runbooks');
    const all = readdirSync(runbooks)
      .map((f) => readFileSync(join(runbooks, f), 'utf8'))
      .join('\n');
    for (const name of [
      'aiprod-postgres',
      'aiprod-api',
      '-dead-letter-sub',
      'aiprod-be-',
      'aiprod-api-armor',
      'aiprod-secret-rotation',
      'aiprod-redis',
    ]) {
      expect(all).toContain(name);
    }
    expect(variableDefault(root, 'name_prefix')).toBe('aiprod');
  });

  it('documents the Cloud Build triggers and the service account roles', () => {
    const cb = doc('cloud-build.md');
    expect(cb).toMatch(/trigger/i);
    expect(cb).toMatch(/_APPLY/);
    expect(cb).toMatch(/roles\/[a-z]/);
  });

  it('explains how ops validate when providers cannot be downloaded', () => {
    const readme = readFileSync(join(TF_DIR, 'README.md'), 'utf8');
    expect(readme).toMatch(/terraform validate/);
    expect(readme).toMatch(/terraform init/);
  });
});

describeWithTerraform('terraform fmt', () => {
  it('leaves every file of terraform/ unchanged (terraform fmt -check -recursive)', () => {
    const r = spawnSync('terraform', ['fmt', '-check', '-recursive', '-diff', TF_DIR], {
      encoding: 'utf8',
      env: terraformEnv(),
    });
    expect({ status: r.status, diff: r.stdout }).toEqual({ status: 0, diff: '' });
  });
});
