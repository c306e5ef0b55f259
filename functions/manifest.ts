/**
 * The one list of deployable functions. Terraform, the local stack and the tests all read it
 * (Terraform through the generated manifest.json), so a function exists exactly when it is here.
 *
 * `npm run manifest` rewrites manifest.json; a test fails when the two disagree.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';

export const TOPICS = [
  'pipeline-jobs',
  'job-results',
  'job-notifications',
  'secret-rotation',
  'monitoring-alerts',
  'maintenance',
] as const;

const common = {
  name: z.string().regex(/^[a-z][a-z0-9-]{1,40}[a-z0-9]$/),
  description: z.string().min(1),
  memory: z.enum(['256Mi', '512Mi', '1Gi', '2Gi', '4Gi', '8Gi']),
  cpu: z.enum(['1', '2', '4']),
  timeoutSeconds: z.number().int().min(1).max(3600),
  maxInstances: z.number().int().min(1),
  minInstances: z.number().int().min(0),
  /** Secret Manager secret ids exposed to the function as environment variables of the same name. */
  secrets: z.array(z.string()),
};

const httpEntry = z.object({
  ...common,
  kind: z.literal('http'),
  method: z.enum(['GET', 'POST', 'DELETE']),
  /** Partner-facing paths behind the load balancer; `{id}` marks a path segment. */
  paths: z.array(z.string().regex(/^\/[a-z0-9/{}._-]*$/)).min(1),
  auth: z.enum(['api_key', 'public']),
  rateLimit: z.enum(['submit', 'read', 'none']),
});

const eventEntry = z.object({
  ...common,
  kind: z.literal('event'),
  topic: z.enum(TOPICS),
  ackDeadlineSeconds: z.number().int().min(10).max(600),
  maxDeliveryAttempts: z.number().int().min(5).max(100),
  minBackoffSeconds: z.number().int().min(0).max(600),
  maxBackoffSeconds: z.number().int().min(0).max(600),
});

export const manifestSchema = z.array(z.discriminatedUnion('kind', [httpEntry, eventEntry]));
export type ManifestEntry = z.infer<typeof manifestSchema>[number];
export type HttpFunction = Extract<ManifestEntry, { kind: 'http' }>;
export type EventFunction = Extract<ManifestEntry, { kind: 'event' }>;

const small = { memory: '512Mi', cpu: '1', minInstances: 0, secrets: ['database-url'] } as const;

export const manifest: ManifestEntry[] = manifestSchema.parse([
  {
    ...small,
    name: 'pipeline-run',
    description: 'Accept a dubbing job and queue it.',
    kind: 'http',
    method: 'POST',
    paths: ['/pipeline/run'],
    auth: 'api_key',
    rateLimit: 'submit',
    timeoutSeconds: 30,
    maxInstances: 100,
  },
  {
    ...small,
    name: 'pipeline-status',
    description: "A job's status.",
    kind: 'http',
    method: 'GET',
    paths: ['/pipeline/{id}'],
    auth: 'api_key',
    rateLimit: 'read',
    timeoutSeconds: 15,
    maxInstances: 100,
  },
  {
    ...small,
    name: 'pipeline-result',
    description: "A finished job's output: signed URL and media facts.",
    kind: 'http',
    method: 'GET',
    paths: ['/pipeline/{id}/result'],
    auth: 'api_key',
    rateLimit: 'read',
    timeoutSeconds: 15,
    maxInstances: 100,
  },
  {
    ...small,
    secrets: [],
    name: 'presets',
    description: 'Languages, music styles and effects presets.',
    kind: 'http',
    method: 'GET',
    paths: ['/presets'],
    auth: 'public',
    rateLimit: 'read',
    timeoutSeconds: 10,
    maxInstances: 20,
  },
  {
    ...small,
    memory: '256Mi',
    name: 'health',
    description: 'Liveness and readiness.',
    kind: 'http',
    method: 'GET',
    paths: ['/health', '/health/live', '/health/ready'],
    auth: 'public',
    rateLimit: 'none',
    timeoutSeconds: 10,
    maxInstances: 10,
  },
  {
    name: 'job-processor',
    description: 'Claims a job, runs the media pipeline, stores the result.',
    kind: 'event',
    topic: 'pipeline-jobs',
    memory: '4Gi',
    cpu: '2',
    timeoutSeconds: 540,
    ackDeadlineSeconds: 600,
    maxDeliveryAttempts: 5,
    minBackoffSeconds: 10,
    maxBackoffSeconds: 600,
    maxInstances: 20,
    minInstances: 0,
    secrets: ['database-url'],
  },
  {
    name: 'sweeper',
    description: 'Requeues jobs whose lease expired and republishes unpublished outbox rows.',
    kind: 'event',
    topic: 'maintenance',
    memory: '512Mi',
    cpu: '1',
    timeoutSeconds: 60,
    ackDeadlineSeconds: 120,
    maxDeliveryAttempts: 5,
    minBackoffSeconds: 10,
    maxBackoffSeconds: 60,
    maxInstances: 1,
    minInstances: 0,
    secrets: ['database-url'],
  },
]);

export const httpFunctions = (): HttpFunction[] => manifest.filter((f): f is HttpFunction => f.kind === 'http');
export const eventFunctions = (): EventFunction[] => manifest.filter((f): f is EventFunction => f.kind === 'event');

export const MANIFEST_JSON = join(__dirname, 'manifest.json');
export const renderManifestJson = (): string => `${JSON.stringify(manifest, null, 2)}\n`;

if (require.main === module) {
  writeFileSync(MANIFEST_JSON, renderManifestJson());
  console.log(`wrote ${MANIFEST_JSON} (${manifest.length} functions)`);
}
