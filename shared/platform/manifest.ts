/**
 * The platform's one declaration: its topics, its secrets, and every deployable function with the
 * access it needs. A function exists exactly when it is here. Terraform reads the generated
 * functions/manifest.json (`npm run manifest`; a test fails when the two disagree), the local stack
 * and the tests read this module.
 */
import { z } from 'zod';

/** Every Pub/Sub topic, and what travels on it. */
export const TOPICS = {
  'pipeline-jobs': 'A job to run: {job_id}. Published on submit and when the sweeper requeues a job.',
  'job-results': 'A job ended: {type, job_id, tenant_id, status, metadata, error?}.',
  'job-notifications': 'One webhook delivery to attempt.',
  'secret-rotation': "Cloud Scheduler's rotation tick and Secret Manager's rotation notices.",
  'monitoring-alerts': "Cloud Monitoring's incidents, from its Pub/Sub notification channel.",
  maintenance: "Cloud Scheduler's every-minute maintenance tick.",
} as const;
export type Topic = keyof typeof TOPICS;
const TOPIC_NAMES = Object.keys(TOPICS) as [Topic, ...Topic[]];

/**
 * Every Secret Manager secret. A function reads one as the environment variable named after it
 * (`database-url` -> DATABASE_URL). `rotate` asks Secret Manager for rotation notices on the
 * secret-rotation topic.
 */
export const SECRETS = {
  'database-url': { description: 'postgres:// URL of the Cloud SQL primary (DATABASE_URL).', rotate: false },
  'database-replica-url': {
    description:
      'postgres:// URL of the first Cloud SQL read replica, or of the primary when there is none (DATABASE_REPLICA_URL): the reads that tolerate replication lag.',
    rotate: false,
  },
  'redis-auth': { description: 'Memorystore AUTH string (REDIS_AUTH).', rotate: false },
  'key-encryption-key': {
    description: 'Key-encryption key of sensitive columns, base64 of 32 bytes (KEY_ENCRYPTION_KEY).',
    rotate: false,
  },
  'elevenlabs-api-key': {
    description:
      "ElevenLabs API key (ELEVENLABS_API_KEY). Read by job-processor only when its access lists it (AIPROD_VOICE_ENGINE=elevenlabs); the operator adds the secret's version.",
    rotate: true,
  },
} as const;
export type SecretId = keyof typeof SECRETS;
const SECRET_IDS = Object.keys(SECRETS) as [SecretId, ...SecretId[]];

/** The environment variable a secret reaches a function as. */
export const secretEnv = (id: string): string => id.toUpperCase().replace(/[^A-Z0-9]/g, '_');

const bucketAccess = z.enum(['none', 'read', 'write', 'read-write']);

/** What a function may touch; Terraform grants its service account exactly this. */
const accessSchema = z
  .object({
    secrets: z.array(z.enum(SECRET_IDS)).default([]),
    publishes: z.array(z.enum(TOPIC_NAMES)).default([]),
    uploads: bucketAccess.default('none'),
    outputs: bucketAccess.default('none'),
    /** Signs URLs of stored objects as itself (IAM signBlob). */
    signUrls: z.boolean().default(false),
    /** Encrypts and decrypts with the application's KMS key. */
    kms: z.boolean().default(false),
  })
  .strict();

const common = {
  name: z.string().regex(/^[a-z][a-z0-9-]{1,40}[a-z0-9]$/),
  description: z.string().min(1),
  memory: z.enum(['256Mi', '512Mi', '1Gi', '2Gi', '4Gi', '8Gi']),
  cpu: z.enum(['1', '2', '4']),
  timeoutSeconds: z.number().int().min(1).max(3600),
  maxInstances: z.number().int().min(1),
  minInstances: z.number().int().min(0),
  access: accessSchema,
};

const httpEntry = z
  .object({
    ...common,
    kind: z.literal('http'),
    method: z.enum(['GET', 'POST', 'DELETE']),
    /** Partner-facing paths behind the load balancer; `{id}` marks a path segment. */
    paths: z.array(z.string().regex(/^\/[a-z0-9/{}._-]*$/)).min(1),
    /**
     * `api_key`: a Bearer API key. `api_key_or_signed`: that, or else a signed URL the function
     * verifies itself (createApp's `signed` option), for clients that cannot send headers.
     */
    auth: z.enum(['api_key', 'api_key_or_signed', 'public']),
    rateLimit: z.enum(['submit', 'read', 'none']),
  })
  .strict();

const eventEntry = z
  .object({
    ...common,
    kind: z.literal('event'),
    topic: z.enum(TOPIC_NAMES),
    ackDeadlineSeconds: z.number().int().min(10).max(600),
    maxDeliveryAttempts: z.number().int().min(5).max(100),
    minBackoffSeconds: z.number().int().min(0).max(600),
    maxBackoffSeconds: z.number().int().min(0).max(600),
  })
  .strict();

export const manifestSchema = z.array(z.discriminatedUnion('kind', [httpEntry, eventEntry]));
export type ManifestEntry = z.infer<typeof manifestSchema>[number];
export type HttpFunction = Extract<ManifestEntry, { kind: 'http' }>;
export type EventFunction = Extract<ManifestEntry, { kind: 'event' }>;

/** Every database function reads its URL; rate-limited ones also reach Redis. */
const small = { memory: '512Mi', cpu: '1', minInstances: 0 } as const;
const api = { secrets: ['database-url', 'redis-auth'] } as const;
/** The API functions that seal or open webhook signing keys. */
const sealing = { secrets: ['database-url', 'redis-auth', 'key-encryption-key'] } as const;

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
    access: { ...api, publishes: ['pipeline-jobs'] },
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
    access: api,
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
    access: { ...api, outputs: 'read', signUrls: true },
  },
  {
    ...small,
    memory: '256Mi',
    name: 'pipeline-events',
    description: "A job's progress as Server-Sent Events until it ends; a Bearer key or the signed events_url.",
    kind: 'http',
    method: 'GET',
    paths: ['/pipeline/{id}/events'],
    auth: 'api_key_or_signed',
    rateLimit: 'read',
    // A stream ends on its own before this (AIPROD_SSE_MAX_SECONDS) and tells the client to reconnect.
    timeoutSeconds: 3600,
    maxInstances: 100,
    access: api,
  },
  {
    ...small,
    name: 'pipeline-cancel',
    description: 'Cancel a job: a waiting one at once, a running one within seconds.',
    kind: 'http',
    method: 'POST',
    paths: ['/pipeline/{id}/cancel'],
    auth: 'api_key',
    rateLimit: 'submit',
    timeoutSeconds: 15,
    maxInstances: 20,
    access: { ...api, publishes: ['pipeline-jobs', 'job-results'] },
  },
  {
    ...small,
    name: 'pipeline-batch-create',
    description: "Accept a batch of jobs (up to the tier's max_batch_size) and queue them.",
    kind: 'http',
    method: 'POST',
    paths: ['/pipeline/batch'],
    auth: 'api_key',
    rateLimit: 'submit',
    timeoutSeconds: 30,
    maxInstances: 20,
    access: { ...api, publishes: ['pipeline-jobs'] },
  },
  {
    ...small,
    name: 'pipeline-batch-status',
    description: "A batch's status, its jobs counted by status, and its progress.",
    kind: 'http',
    method: 'GET',
    paths: ['/pipeline/batch/{id}'],
    auth: 'api_key',
    rateLimit: 'read',
    timeoutSeconds: 15,
    maxInstances: 50,
    access: api,
  },
  {
    ...small,
    name: 'pipeline-batch-results',
    description: "A batch's results as a ZIP streamed as it is built: manifest.json and one file per item.",
    kind: 'http',
    method: 'GET',
    paths: ['/pipeline/batch/{id}/results'],
    auth: 'api_key',
    rateLimit: 'read',
    // Signing one URL per item, at most 500 items.
    timeoutSeconds: 120,
    maxInstances: 20,
    access: { ...api, outputs: 'read', signUrls: true },
  },
  {
    ...small,
    name: 'pipeline-batch-cancel',
    description: 'Cancel every job of a batch still waiting or running; the batch ends CANCELLED.',
    kind: 'http',
    method: 'POST',
    paths: ['/pipeline/batch/{id}/cancel'],
    auth: 'api_key',
    rateLimit: 'submit',
    timeoutSeconds: 30,
    maxInstances: 20,
    access: { ...api, publishes: ['pipeline-jobs', 'job-results'] },
  },
  {
    ...small,
    name: 'presets',
    description: 'Languages, music styles and effects presets.',
    kind: 'http',
    method: 'GET',
    paths: ['/presets'],
    auth: 'public',
    rateLimit: 'read',
    timeoutSeconds: 10,
    maxInstances: 20,
    access: { secrets: ['redis-auth'] },
  },
  {
    ...small,
    memory: '256Mi',
    name: 'webhooks-create',
    description: 'Register a webhook: its URL checked (https, public address), its signing key shown once.',
    kind: 'http',
    method: 'POST',
    paths: ['/webhooks'],
    auth: 'api_key',
    rateLimit: 'submit',
    // The URL's host is resolved once at registration (at most 5 s).
    timeoutSeconds: 15,
    maxInstances: 20,
    access: sealing,
  },
  {
    ...small,
    memory: '256Mi',
    name: 'webhooks-list',
    description: "The tenant's webhooks, newest first, a page at a time.",
    kind: 'http',
    method: 'GET',
    paths: ['/webhooks'],
    auth: 'api_key',
    rateLimit: 'read',
    timeoutSeconds: 10,
    maxInstances: 20,
    access: api,
  },
  {
    ...small,
    memory: '256Mi',
    name: 'webhook-get',
    description: "A webhook's status: URL, events, scheme, enabled or disabled, failures, rotation.",
    kind: 'http',
    method: 'GET',
    paths: ['/webhooks/{id}'],
    auth: 'api_key',
    rateLimit: 'read',
    timeoutSeconds: 10,
    maxInstances: 20,
    access: api,
  },
  {
    ...small,
    memory: '256Mi',
    name: 'webhook-delete',
    description: 'Delete a webhook and its delivery history.',
    kind: 'http',
    method: 'DELETE',
    paths: ['/webhooks/{id}'],
    auth: 'api_key',
    rateLimit: 'submit',
    timeoutSeconds: 10,
    maxInstances: 20,
    access: api,
  },
  {
    ...small,
    memory: '256Mi',
    name: 'webhook-enable',
    description: 'Enable a webhook again (after failures disabled it), its failure count reset.',
    kind: 'http',
    method: 'POST',
    paths: ['/webhooks/{id}/enable'],
    auth: 'api_key',
    rateLimit: 'submit',
    timeoutSeconds: 10,
    maxInstances: 20,
    access: api,
  },
  {
    ...small,
    memory: '256Mi',
    name: 'webhook-rotate-secret',
    description: 'A new signing key, shown once; the previous one keeps signing for 24 h beside it.',
    kind: 'http',
    method: 'POST',
    paths: ['/webhooks/{id}/rotate-secret'],
    auth: 'api_key',
    rateLimit: 'submit',
    timeoutSeconds: 10,
    maxInstances: 20,
    access: sealing,
  },
  {
    ...small,
    memory: '256Mi',
    name: 'webhook-test',
    description:
      'Send a webhook.test event to a webhook now, once, and answer with the attempt: status, latency, error.',
    kind: 'http',
    method: 'POST',
    paths: ['/webhooks/{id}/test'],
    auth: 'api_key',
    rateLimit: 'submit',
    // One attempt of at most AIPROD_WEBHOOK_TIMEOUT_SECONDS (15 s, 30 s at most), and the database around it.
    timeoutSeconds: 45,
    maxInstances: 20,
    access: { secrets: ['database-url', 'redis-auth', 'key-encryption-key'], publishes: ['job-notifications'] },
  },
  {
    ...small,
    memory: '256Mi',
    name: 'webhook-deliveries',
    description: "A webhook's deliveries, newest first, a page at a time, each with its state and every attempt.",
    kind: 'http',
    method: 'GET',
    paths: ['/webhooks/{id}/deliveries'],
    auth: 'api_key',
    rateLimit: 'read',
    timeoutSeconds: 15,
    maxInstances: 20,
    access: api,
  },
  {
    ...small,
    memory: '256Mi',
    name: 'webhook-delivery-retry',
    description: 'One more attempt of a delivery now, with the same webhook-id; answers with the attempt.',
    kind: 'http',
    method: 'POST',
    paths: ['/webhooks/{id}/deliveries/{delivery_id}/retry'],
    auth: 'api_key',
    rateLimit: 'submit',
    timeoutSeconds: 45,
    maxInstances: 20,
    access: { secrets: ['database-url', 'redis-auth', 'key-encryption-key'], publishes: ['job-notifications'] },
  },
  {
    ...small,
    memory: '256Mi',
    name: 'jobs-list',
    description: "The tenant's jobs, newest first, filtered, a page at a time; read from the replica.",
    kind: 'http',
    method: 'GET',
    paths: ['/jobs'],
    auth: 'api_key',
    rateLimit: 'read',
    timeoutSeconds: 10,
    maxInstances: 20,
    // The API key is checked on the primary (database-url); the jobs are read from the replica.
    access: { secrets: ['database-url', 'database-replica-url', 'redis-auth'] },
  },
  {
    ...small,
    memory: '256Mi',
    name: 'support-bug-create',
    description: 'File a problem report, optionally about one of your jobs.',
    kind: 'http',
    method: 'POST',
    paths: ['/support/bugs'],
    auth: 'api_key',
    rateLimit: 'submit',
    timeoutSeconds: 10,
    maxInstances: 10,
    access: api,
  },
  {
    ...small,
    memory: '256Mi',
    name: 'support-bugs-list',
    description: "The tenant's problem reports, newest first, of one status if asked, a page at a time.",
    kind: 'http',
    method: 'GET',
    paths: ['/support/bugs'],
    auth: 'api_key',
    rateLimit: 'read',
    timeoutSeconds: 10,
    maxInstances: 10,
    access: api,
  },
  {
    ...small,
    memory: '256Mi',
    name: 'support-bug-get',
    description: 'A problem report with its status and its comments.',
    kind: 'http',
    method: 'GET',
    paths: ['/support/bugs/{id}'],
    auth: 'api_key',
    rateLimit: 'read',
    timeoutSeconds: 10,
    maxInstances: 10,
    access: api,
  },
  {
    ...small,
    memory: '256Mi',
    name: 'support-bug-comment',
    description: 'Add a comment to a problem report.',
    kind: 'http',
    method: 'POST',
    paths: ['/support/bugs/{id}/comments'],
    auth: 'api_key',
    rateLimit: 'submit',
    timeoutSeconds: 10,
    maxInstances: 10,
    access: api,
  },
  {
    ...small,
    memory: '256Mi',
    name: 'auth-login',
    description: "Exchange an Identity Platform ID token for an API token of the user's tenant, valid one hour.",
    kind: 'http',
    method: 'POST',
    paths: ['/auth/login'],
    // The ID token in the body is the credential; callers are rate-limited per IP address.
    auth: 'public',
    rateLimit: 'submit',
    // Google's signing keys are fetched at most every few minutes (5 s timeout), then one statement.
    timeoutSeconds: 15,
    maxInstances: 20,
    access: api,
  },
  {
    ...small,
    memory: '256Mi',
    name: 'uploads-create',
    description:
      'A signed URL to PUT one input file (video or image) straight into the uploads bucket, and its gs:// URI for a job.',
    kind: 'http',
    method: 'POST',
    paths: ['/uploads'],
    auth: 'api_key',
    rateLimit: 'submit',
    // Signing is one IAM signBlob call, and the upload's row one insert.
    timeoutSeconds: 15,
    maxInstances: 20,
    // Write on the bucket because a signed URL carries its signer's permissions: the PUT creates
    // objects as this function (create only, so a URL cannot overwrite).
    access: { ...api, uploads: 'write', signUrls: true },
  },
  {
    ...small,
    memory: '256Mi',
    name: 'usage',
    description: "The caller's tenant's calls and their cost per day or endpoint, and its jobs' media seconds per day.",
    kind: 'http',
    method: 'GET',
    paths: ['/usage'],
    auth: 'api_key',
    rateLimit: 'read',
    // Two short aggregate reads over at most 366 days of one tenant.
    timeoutSeconds: 15,
    maxInstances: 20,
    access: api,
  },
  {
    ...small,
    memory: '256Mi',
    name: 'health',
    description:
      'Startup, liveness and readiness probes: migrations and configuration; the process; the database, Redis and the bus.',
    kind: 'http',
    method: 'GET',
    paths: ['/health', '/health/startup', '/health/live', '/health/ready'],
    auth: 'public',
    // A probe is never refused: it must tell an overloaded instance from a broken one.
    rateLimit: 'none',
    timeoutSeconds: 10,
    maxInstances: 10,
    // Redis's AUTH string, to ping Memorystore. Pub/Sub's check needs no grant (events/pubsub-transport.ts).
    access: { secrets: ['database-url', 'redis-auth'] },
  },
  {
    name: 'job-processor',
    description: "Claims its tenant's next job when the tier allows, runs the media pipeline, stores the result.",
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
    // pipeline-jobs: the turn an ended job hands to its tenant's next waiting one.
    access: {
      secrets: ['database-url'],
      publishes: ['pipeline-jobs', 'job-results'],
      uploads: 'read',
      outputs: 'read-write',
    },
  },
  {
    name: 'sweeper',
    description:
      'Requeues jobs whose lease expired, republishes unpublished outbox rows, sends webhook deliveries that came due.',
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
    access: { secrets: ['database-url'], publishes: ['pipeline-jobs', 'job-results', 'job-notifications'] },
  },
  {
    name: 'result-notifier',
    description: 'Fans a finished job out to one delivery per active webhook of the tenant subscribed to the event.',
    kind: 'event',
    topic: 'job-results',
    memory: '512Mi',
    cpu: '1',
    timeoutSeconds: 30,
    ackDeadlineSeconds: 60,
    maxDeliveryAttempts: 10,
    minBackoffSeconds: 10,
    maxBackoffSeconds: 600,
    maxInstances: 20,
    minInstances: 0,
    access: { secrets: ['database-url'], publishes: ['job-notifications'] },
  },
  {
    name: 'webhook-deliverer',
    description:
      'One attempt of one webhook delivery: signed, POSTed through the SSRF guard, recorded; the next one scheduled.',
    kind: 'event',
    topic: 'job-notifications',
    memory: '512Mi',
    cpu: '1',
    // A POST of at most AIPROD_WEBHOOK_TIMEOUT_SECONDS (15 s, 30 s at most) and a few short queries; the
    // delivery's lease (90 s) outlasts it. Pub/Sub retries only a database failure: the schedule is the row's.
    timeoutSeconds: 60,
    ackDeadlineSeconds: 90,
    maxDeliveryAttempts: 10,
    minBackoffSeconds: 10,
    maxBackoffSeconds: 600,
    maxInstances: 50,
    minInstances: 0,
    access: { secrets: ['database-url', 'key-encryption-key'], publishes: ['job-notifications'] },
  },
]);

export const httpFunctions = (): HttpFunction[] => manifest.filter((f): f is HttpFunction => f.kind === 'http');
export const eventFunctions = (): EventFunction[] => manifest.filter((f): f is EventFunction => f.kind === 'event');

/** What Terraform reads: functions/manifest.json. */
export function renderManifestJson(): string {
  const document = {
    topics: TOPIC_NAMES,
    secrets: Object.fromEntries(Object.entries(SECRETS).map(([id, s]) => [id, { ...s, env: secretEnv(id) }])),
    functions: manifest,
  };
  return `${JSON.stringify(document, null, 2)}\n`;
}
