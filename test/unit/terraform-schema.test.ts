/**
 * Every resource and data block of terraform/ against the real provider schemas, offline: its
 * type exists in its provider, it uses only arguments and nested blocks of that type, it sets
 * every required one, and expressions read only attributes it has. That is what
 * `terraform validate` refuses first, and it cannot run here (no provider download); the schemas
 * come from the @cdktf/provider-* packages (test/support/terraform-schema.ts).
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { TF_DIR, parseHcl, tfFiles } from '../support/terraform';
import {
  checkParsedFile,
  checkReferences,
  formatProblem,
  providerVersion,
  typeSchema,
  type BlockSchema,
  type FileCheck,
  type ParsedFile,
} from '../support/terraform-schema';

const check = async (text: string): Promise<FileCheck> =>
  checkParsedFile('snippet.tf', await parseHcl('snippet.tf', text));
const messages = async (text: string): Promise<string[]> => (await check(text)).problems.map(formatProblem);

/** A nested level of a schema, by block path. */
const level = (schema: BlockSchema | null, ...path: string[]): BlockSchema => {
  let at = schema;
  for (const name of path) at = at?.blocks.get(name) ?? null;
  if (!at) throw new Error(`no block ${path.join('.')}`);
  return at;
};

const sorted = (names: Iterable<string>): string[] => [...names].sort();

describe('schemas read from the generated provider code', () => {
  it('reads google_cloud_run_v2_service: arguments, required names and nested blocks at every depth', () => {
    const service = typeSchema('google', 'resource', 'google_cloud_run_v2_service');
    expect(service?.dir).toBe('cloud-run-v2-service');
    expect(sorted(service!.required)).toEqual(['location', 'name', 'template']);
    expect(service!.attributes.get('labels')).toBe('map');
    // What expressions can read besides the arguments: computed attributes, lists and maps.
    expect([...service!.exported]).toEqual(expect.arrayContaining(['uri', 'conditions', 'terraform_labels', 'name']));
    expect(sorted(level(service, 'template', 'scaling').attributes.keys())).toEqual([
      'max_instance_count',
      'min_instance_count',
    ]);
    const containers = level(service, 'template', 'containers');
    expect(sorted(containers.required)).toEqual(['image']);
    expect(containers.blocks.has('env')).toBe(true);
    expect(level(service, 'template', 'containers', 'env', 'value_source', 'secret_key_ref').required).toEqual(
      new Set(['secret']),
    );
  });

  it('reads google_monitoring_alert_policy, the shape the monitoring module relies on', () => {
    const policy = typeSchema('google', 'resource', 'google_monitoring_alert_policy');
    expect(sorted(policy!.required)).toEqual(['combiner', 'conditions', 'display_name']);
    const threshold = level(policy, 'conditions', 'condition_threshold');
    expect(sorted(threshold.required)).toEqual(['comparison', 'duration']);
    expect(sorted(threshold.blocks.keys())).toEqual(
      expect.arrayContaining(['aggregations', 'denominator_aggregations', 'trigger']),
    );
    expect(level(policy, 'conditions', 'condition_threshold', 'trigger').attributes.has('count')).toBe(true);
  });

  it('reads data sources, google-beta-only types and random types, and knows what a provider lacks', () => {
    expect(typeSchema('google', 'data', 'google_project')?.attributes.has('project_id')).toBe(true);
    expect(typeSchema('google', 'resource', 'google_project_service_identity')).toBeNull();
    expect(typeSchema('google-beta', 'resource', 'google_project_service_identity')?.required).toEqual(
      new Set(['service']),
    );
    expect(typeSchema('random', 'resource', 'random_password')?.required).toEqual(new Set(['length']));
    expect(typeSchema('google', 'resource', 'google_no_such_thing')).toBeNull();
  });

  it('comes from provider versions inside the range the estate pins', () => {
    const versions = readFileSync(join(TF_DIR, 'versions.tf'), 'utf8');
    for (const provider of ['google', 'google-beta'] as const) {
      const pin = new RegExp(`${provider} = \\{[^}]*version\\s*=\\s*">= (\\d+)[^"]*< (\\d+)`).exec(versions);
      expect({ provider, pinned: Boolean(pin) }).toEqual({ provider, pinned: true });
      const major = Number(providerVersion(provider).split('.')[0]);
      expect(major).toBeGreaterThanOrEqual(Number(pin![1]));
      expect(major).toBeLessThan(Number(pin![2]));
    }
  });
});

describe('every resource and data block of terraform/', () => {
  const results: FileCheck[] = [];
  const modules = new Map<string, ParsedFile[]>();
  let declared = 0;

  beforeAll(async () => {
    for (const file of tfFiles(TF_DIR)) {
      const text = readFileSync(join(TF_DIR, file), 'utf8');
      declared += (text.match(/^(resource|data) "/gm) ?? []).length;
      const parsed: ParsedFile = { file: join('terraform', file), parsed: await parseHcl(file, text) };
      results.push(checkParsedFile(parsed.file, parsed.parsed));
      modules.set(dirname(file), [...(modules.get(dirname(file)) ?? []), parsed]);
    }
  });

  it('has been checked, every one of them', () => {
    const checked = results.flatMap((r) => r.checked);
    expect(checked.length).toBeGreaterThan(50);
    expect(checked).toHaveLength(declared);
  });

  it('uses only types, arguments and nested blocks its provider has, and sets every required one', () => {
    expect(results.flatMap((r) => r.problems).map(formatProblem)).toEqual([]);
  });

  it('is referenced only where its module declares it, and only for attributes its type exports', () => {
    expect(modules.size).toBeGreaterThan(10);
    expect([...modules.values()].flatMap(checkReferences).map(formatProblem)).toEqual([]);
  });
});

describe('the check', () => {
  it('reports a misspelled argument and a misspelled nested block, naming file, address and the close names', async () => {
    const problems = await messages(`
resource "google_pubsub_topic" "jobs" {
  name                       = "jobs"
  mesage_retention_duration  = "600s"
  message_storage_polcy {
    allowed_persistence_regions = ["europe-west1"]
  }
}
`);
    expect(problems).toEqual([
      'snippet.tf: google_pubsub_topic.jobs: unsupported argument or block "mesage_retention_duration" (did you mean "message_retention_duration"?)',
      'snippet.tf: google_pubsub_topic.jobs: unsupported argument or block "message_storage_polcy" (did you mean "message_storage_policy"?)',
    ]);
  });

  it('checks nested blocks at every depth', async () => {
    expect(
      await messages(`
resource "google_monitoring_alert_policy" "p" {
  display_name = "p"
  combiner     = "OR"
  conditions {
    display_name = "c"
    condition_threshold {
      comparison = "COMPARISON_GT"
      duration   = "0s"
      aggregations {
        alignment_period = "60s"
        per_series_aligner = "ALIGN_MAX"
        group_by_field = ["x"]
      }
    }
  }
}
`),
    ).toEqual([
      'snippet.tf: google_monitoring_alert_policy.p conditions.condition_threshold.aggregations: unsupported argument or block "group_by_field" (did you mean "group_by_fields"?)',
    ]);
  });

  it('checks a dynamic block: its label, its own arguments and its content', async () => {
    const problems = await messages(`
resource "google_logging_metric" "m" {
  name   = "m"
  filter = "f"
  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
    dynamic "label" {
      for_each = ["a"]
      content {
        key = label.value
      }
    }
    dynamic "labels" {
      for_each = ["a"]
      contents {
        key = labels.value
      }
    }
    dynamic "labels" {
      for_each = ["a"]
      content {
        kee = labels.value
      }
    }
  }
}
`);
    expect(problems).toEqual([
      'snippet.tf: google_logging_metric.m metric_descriptor: dynamic "label": no block "label" here (did you mean "labels"?)',
      'snippet.tf: google_logging_metric.m metric_descriptor.dynamic "labels": unsupported argument "contents" (did you mean "content"?)',
      'snippet.tf: google_logging_metric.m metric_descriptor.dynamic "labels": missing required "content"',
      'snippet.tf: google_logging_metric.m metric_descriptor.labels: unsupported argument or block "kee" (did you mean "key"?)',
      'snippet.tf: google_logging_metric.m metric_descriptor.labels: missing required "key"',
    ]);
  });

  it('reports missing required arguments and blocks; a dynamic block supplies a required block', async () => {
    expect(
      await messages(`
resource "google_monitoring_alert_policy" "missing" {
  display_name = "p"
}

resource "google_monitoring_alert_policy" "dynamic" {
  display_name = "p"
  combiner     = "OR"
  dynamic "conditions" {
    for_each = var.conditions
    content {
      display_name = conditions.key
    }
  }
}
`),
    ).toEqual([
      'snippet.tf: google_monitoring_alert_policy.missing: missing required "combiner"',
      'snippet.tf: google_monitoring_alert_policy.missing: missing required "conditions"',
    ]);
  });

  it('allows meta-arguments at the top level only, and checks lifecycle', async () => {
    expect(
      await messages(`
resource "google_pubsub_topic" "t" {
  for_each   = toset(var.topics)
  provider   = google
  depends_on = [google_project_service.this]
  name       = each.key
  lifecycle {
    prevent_destroy = true
    ignore_change   = [labels]
  }
  message_storage_policy {
    count                       = 1
    allowed_persistence_regions = ["europe-west1"]
  }
}
`),
    ).toEqual([
      'snippet.tf: google_pubsub_topic.t message_storage_policy: unsupported argument or block "count"',
      'snippet.tf: google_pubsub_topic.t lifecycle: unsupported argument "ignore_change" (did you mean "ignore_changes"?)',
    ]);
  });

  it('reports a type its provider lacks, and a google-beta type used without provider = google-beta', async () => {
    expect(
      await messages(`
resource "google_storage_bukket" "b" {
  name     = "b"
  location = "EU"
}

data "google_projekt" "p" {}

resource "google_project_service_identity" "beta_only" {
  service = "pubsub.googleapis.com"
}

resource "google_project_service_identity" "beta" {
  provider = google-beta
  service  = "pubsub.googleapis.com"
}

resource "aws_s3_bucket" "elsewhere" {}
`),
    ).toEqual([
      // In hcl2json's order: by type, then by name.
      'snippet.tf: aws_s3_bucket.elsewhere: provider "aws" is none of google, google-beta, random',
      expect.stringMatching(/^snippet\.tf: google_project_service_identity\.beta_only: .*it is in google-beta/),
      expect.stringMatching(
        /^snippet\.tf: google_storage_bukket\.b: no resource type "google_storage_bukket" in google 6\.\d+\.\d+ \(did you mean "google_storage_bucket"/,
      ),
      expect.stringMatching(/^snippet\.tf: data\.google_projekt\.p: no data source .*did you mean "google_project"/),
    ]);
  });

  it('reports a block written as an argument and an argument written as a block', async () => {
    expect(
      await messages(`
resource "google_pubsub_topic" "t" {
  name = "t"
  message_storage_policy = {
    allowed_persistence_regions = ["europe-west1"]
  }
  labels {
    team = "media"
  }
}
`),
    ).toEqual([
      'snippet.tf: google_pubsub_topic.t: "labels" is an argument: write labels = ..., not labels { ... }',
      'snippet.tf: google_pubsub_topic.t: "message_storage_policy" is a block: write message_storage_policy { ... }, not message_storage_policy = ...',
    ]);
  });

  it('lists every block it checked, resources and data sources', async () => {
    const result = await check(`
resource "random_password" "db" {
  length = 32
}

data "google_project" "this" {}
`);
    expect(result).toEqual({ checked: ['random_password.db', 'data.google_project.this'], problems: [] });
  });

  it('reports a reference to an undeclared block or to an attribute its type does not export', async () => {
    const file: ParsedFile = {
      file: 'snippet.tf',
      parsed: await parseHcl(
        'snippet.tf',
        `
resource "google_compute_global_address" "lb" {
  name = "lb"
}

data "google_project" "this" {}

output "ok" {
  value = [google_compute_global_address.lb.address, google_compute_global_address.lb.self_link, data.google_project.this.number]
}

output "wrong" {
  value = "\${google_compute_global_address.lb.ip_address}:\${google_compute_global_address.other.id}"
}
`,
      ),
    };
    expect(checkReferences([file]).map(formatProblem)).toEqual([
      'snippet.tf: google_compute_global_address.lb: no attribute "ip_address" (did you mean "address"?)',
      'snippet.tf: google_compute_global_address.other: referenced, but not declared in this module',
    ]);
  });
});
