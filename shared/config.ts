/**
 * Process configuration, read from the environment once and validated with zod, so a bad or missing
 * variable stops the process at start with one message that names it, not deep inside a request.
 */
import * as z from 'zod';

const flag = (def: '0' | '1') =>
  z
    .enum(['0', '1', 'true', 'false', ''])
    .default(def)
    .transform((v) => v === '1' || v === 'true');
const bool = flag('0');
const int = (def: number, min = 0) => z.coerce.number().int().min(min).default(def);

const schema = z.object({
  AIPROD_MODE: z.enum(['local', 'gcp']).default('local'),
  NODE_ENV: z.string().default('development'),
  PORT: int(8080, 0),
  LOG_LEVEL: z.enum(['error', 'warn', 'info', 'debug']).default('info'),
  // Optional here because some functions (presets) have no database; db() insists on it.
  DATABASE_URL: z
    .string()
    .url()
    .refine((u) => /^postgres(ql)?:/.test(u), 'must be a postgres:// URL')
    .optional(),
  /**
   * A read replica of DATABASE_URL's database, for the reads that tolerate replication lag (GET
   * /jobs); those reads go to the primary when it is unset. Secret `database-replica-url`.
   */
  DATABASE_REPLICA_URL: z
    .string()
    .url()
    .refine((u) => /^postgres(ql)?:/.test(u), 'must be a postgres:// URL')
    .optional(),
  DATABASE_POOL_MAX: int(10, 1),
  /** How long a caller waits for a pooled connection before the request is refused with 503. */
  DATABASE_ACQUIRE_TIMEOUT_MS: int(1000, 50),
  /**
   * Proxies in front of the functions that append the caller's address to X-Forwarded-For: the
   * caller is the entry that many hops from the right, and what a caller wrote itself, further
   * left, is never believed. 2 on Google Cloud when unset (the load balancer appends
   * `<client>, <forwarding rule>`), 1 locally (the gateway stands in for the load balancer, and a
   * test or load generator may name its callers with one entry).
   */
  AIPROD_TRUSTED_PROXY_HOPS: z.preprocess(
    // Empty is unset (an empty Terraform value), not 0: 0 would make every caller the proxy's address.
    (v) => (v === '' ? undefined : v),
    z.coerce.number().int().min(0).max(10).optional(),
  ),
  /** How long an instance remembers a verified API key; a key revoked elsewhere works here that long at most. */
  AIPROD_API_KEY_CACHE_SECONDS: int(5, 0),
  AIPROD_DATA_DIR: z.string().min(1).default('.aiprod'),
  /** Where jobs keep their scratch files; the system's temporary directory when unset. */
  AIPROD_SCRATCH_DIR: z.string().min(1).optional(),
  AIPROD_PUBLIC_URL: z.string().url().optional(),
  GOOGLE_CLOUD_PROJECT: z.string().min(1).default('local'),
  /** Identity Platform (Firebase Auth) project whose ID tokens POST /auth/login accepts; GOOGLE_CLOUD_PROJECT when unset. */
  AIPROD_IDENTITY_PROJECT: z
    .string()
    .regex(/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/, 'must be a project id')
    .optional(),
  /** Google's signing keys of ID tokens, as a JSON Web Key Set; tests serve their own. */
  AIPROD_IDENTITY_JWKS_URL: z
    .string()
    .url()
    .refine((u) => /^https?:/.test(u), 'must be an http(s) URL')
    .default('https://www.googleapis.com/service_accounts/v1/jwk/securetoken@system.gserviceaccount.com'),
  AIPROD_UPLOADS_BUCKET: z
    .string()
    .regex(/^[a-z0-9._-]{3,63}$/)
    .default('aiprod-uploads'),
  AIPROD_OUTPUTS_BUCKET: z
    .string()
    .regex(/^[a-z0-9._-]{3,63}$/)
    .default('aiprod-outputs'),
  /**
   * Days a job's output and result rows are kept after it ended (the sweeper's retention). The same
   * number as the outputs bucket's lifecycle rule: Terraform sets both from `outputs_retention_days`.
   */
  AIPROD_RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(30),
  /** Days an upload (object and row) is kept: Terraform's `uploads_retention_days`, the uploads bucket's rule. */
  AIPROD_UPLOADS_RETENTION_DAYS: z.coerce.number().int().min(1).max(3650).default(7),
  AIPROD_LOCAL_SIGNING_KEY: z.string().min(32).optional(),
  /**
   * The key-encryption key of sealed columns before Cloud KMS, base64 of 32 bytes (secret
   * `key-encryption-key`, version label v1): on Google Cloud it only opens rows sealed before KMS
   * until `npm run reencrypt` has moved them; locally it seeds the local store's first KEK version.
   */
  KEY_ENCRYPTION_KEY: z
    .string()
    .refine((v) => Buffer.from(v, 'base64').length === 32, 'must be base64 of 32 bytes')
    .optional(),
  /**
   * The Cloud KMS key that wraps the data keys of sealed columns on Google Cloud
   * (projects/<p>/locations/<l>/keyRings/<r>/cryptoKeys/<k>); Terraform sets it for the functions
   * whose manifest access sets kms.
   */
  AIPROD_KMS_KEY: z
    .string()
    .regex(
      /^projects\/[^/]+\/locations\/[^/]+\/keyRings\/[^/]+\/cryptoKeys\/[^/]+$/,
      'must be a crypto key name: projects/<p>/locations/<l>/keyRings/<r>/cryptoKeys/<k>',
    )
    .optional(),
  /**
   * How long a running function keeps a secret it read (the database URL, the KEK versions) before
   * reading the store again: a rotated secret reaches every instance within this, without a redeploy.
   */
  AIPROD_SECRET_TTL_SECONDS: int(60, 1),
  /**
   * secret-rotator: a secret AIPROD makes (the database password, the KEK, the metrics token) is
   * rotated once its last rotation is this old (a day's slack, as the quarterly tick comes 90 to 92
   * days apart); a third-party key this old is reported (`secret.rotation_due`).
   */
  AIPROD_ROTATION_PERIOD_DAYS: int(90, 1),
  /**
   * How long the previous version of a rotated secret stays enabled after the new one works (every
   * instance re-reads within AIPROD_SECRET_TTL_SECONDS); a later tick disables it.
   */
  AIPROD_ROTATION_GRACE_SECONDS: int(3600, 0),
  /**
   * Local test hook: the named rotation step throws once its work is done, so its rollback is
   * exercised. Ignored unless AIPROD_MODE is local: a deployment cannot be made to fail this way.
   */
  AIPROD_ROTATION_FAIL_STEP: z
    .enum(['add_version', 'set_password', 'verify', 'reencrypt', 'disable_previous'])
    .optional(),
  AIPROD_ALLOW_PRIVATE_URLS: bool,
  /**
   * Local stack only: `0` runs the HTTP functions alone, without the push bus and the maintenance
   * tick, as the submit function runs on its own instances in the cloud (jobs stay PENDING).
   */
  AIPROD_LOCAL_WORKERS: flag('1'),
  AIPROD_MAX_BODY_BYTES: int(256 * 1024, 1024),
  /**
   * Lowers the largest input a job takes below what job-processor's memory allows
   * (shared/jobs/input-limit.ts); it cannot raise it. Unset: that limit.
   */
  AIPROD_MAX_INPUT_BYTES: z.coerce.number().int().min(1).optional(),
  AIPROD_FETCH_TIMEOUT_MS: int(10 * 60 * 1000, 100),
  AIPROD_JOB_LEASE_SECONDS: int(120, 5),
  AIPROD_JOB_HEARTBEAT_SECONDS: int(3, 1),
  /** Below job-processor's function timeout (540 s), so a slow job fails with a reason instead of being cut off. */
  AIPROD_PROCESSING_TIMEOUT_SECONDS: int(480, 5),
  /**
   * The whole graceful shutdown (lifecycle/shutdown.ts), from SIGTERM to exit: under the 10 s
   * after which Cloud Run kills the instance, so the exit is always ours. Longer only where nothing
   * kills the process (the local stack).
   */
  AIPROD_SHUTDOWN_SECONDS: z.coerce.number().int().min(2).max(120).default(8),
  AIPROD_SIGNED_URL_TTL_SECONDS: int(3600, 60),
  /** GET /pipeline/{id}/events: how often a stream reads the job (one short query, no connection kept between). */
  AIPROD_SSE_POLL_MS: int(500, 20),
  /** Milliseconds between the stream's `: ping` comments, which keep idle proxies from closing it. */
  AIPROD_SSE_HEARTBEAT_MS: int(15_000, 10),
  /**
   * A stream ends after this long with a `retry:` hint and the client reconnects where it was: 55 min,
   * under pipeline-events' 60 min function timeout (and never closer to it than a minute).
   */
  AIPROD_SSE_MAX_SECONDS: int(3300, 1),
  /**
   * Webhook deliveries: the wait before each attempt, in seconds, the first attempt's included
   * (0: at once); as many attempts as entries. The Standard Webhooks example schedule: at once,
   * 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h. Each wait gets +-10% jitter.
   */
  AIPROD_WEBHOOK_RETRY_SECONDS: z
    .string()
    .regex(/^\s*\d{1,7}(\s*,\s*\d{1,7}){0,49}\s*$/, 'must be 1 to 50 comma-separated whole seconds, e.g. 0,5,300')
    .default('0,5,300,1800,7200,18000,36000,50400,72000,86400')
    .transform((v) => v.split(',').map((s) => Number(s.trim()))),
  /** A webhook is disabled (reason `failing`) after this many deliveries in a row ended failed. */
  AIPROD_WEBHOOK_DISABLE_AFTER: int(10, 1),
  /** The longest `Retry-After` a receiver's 429 or 5xx is obeyed for; a longer one waits this long. */
  AIPROD_WEBHOOK_RETRY_AFTER_MAX_SECONDS: int(3600, 0),
  /** Deliveries in flight at once to one webhook; more wait their turn, so a slow receiver holds this many workers at most. */
  AIPROD_WEBHOOK_MAX_IN_FLIGHT: int(4, 1),
  /** One delivery attempt's cap: lookup, connect, send and the receiver's answer (webhook-deliverer's timeout is 60 s). */
  AIPROD_WEBHOOK_TIMEOUT_SECONDS: z.coerce.number().int().min(1).max(30).default(15),
  /**
   * alert-notifier: where Cloud Monitoring's incidents are posted (secret `slack-webhook-url`): a
   * Slack incoming webhook, or the Web API's `https://slack.com/api/chat.postMessage?channel=<id>`
   * with SLACK_BOT_TOKEN. Unset, incidents are logged as not posted.
   */
  SLACK_WEBHOOK_URL: z
    .string()
    .url()
    .refine((u) => /^https?:/.test(u), 'must be an http(s) URL')
    .optional(),
  /** Bot token (secret `slack-bot-token`) sent to the Web API, whose answer's `ts` lets a resolution reply in its incident's thread. */
  SLACK_BOT_TOKEN: z.string().min(1).optional(),
  /** One post to Slack's cap (alert-notifier's timeout is 30 s): lookup, connect, send and Slack's answer. */
  AIPROD_SLACK_TIMEOUT_SECONDS: z.coerce.number().int().min(1).max(20).default(10),
  /** An incident's opening (or closing) delivered again within this many seconds is not posted again; 0 posts every delivery. */
  AIPROD_ALERT_DEDUP_SECONDS: int(3600, 0),
  /**
   * Where the repository's docs/ is browsable (e.g. https://github.com/<org>/aiprod/blob/main): an
   * alert links <base>/docs/runbooks/<name>.md. Empty or unset, the runbook is named, not linked.
   */
  AIPROD_RUNBOOK_BASE_URL: z
    .string()
    .refine((u) => u === '' || (URL.canParse(u) && /^https?:/.test(u)), 'must be an http(s) URL, or empty')
    .optional()
    .transform((v) => (v ? v.replace(/\/+$/, '') : undefined)),
  /** Text-to-speech engine: `local` (ffmpeg's flite, the embedded default), `google`, `elevenlabs`. */
  AIPROD_VOICE_ENGINE: z.enum(['local', 'google', 'elevenlabs']).default('local'),
  /** Google Cloud Text-to-Speech endpoint override (host[:port]); tests point it at a local double. */
  GOOGLE_TTS_API_ENDPOINT: z.string().min(1).optional(),
  /** ElevenLabs: key from Secret Manager (secret `elevenlabs-api-key`), voice and model. */
  ELEVENLABS_API_KEY: z.string().min(1).optional(),
  ELEVENLABS_VOICE_ID: z.string().min(1).default('21m00Tcm4TlvDq8ikWAM'),
  /**
   * Further voices of the account a job may ask for by `voice_id`, comma-separated; the default
   * voice is always on offer. Listed so a job cannot spend the account on any voice it can name.
   */
  ELEVENLABS_VOICE_IDS: z
    .string()
    .regex(/^\s*([A-Za-z0-9_-]+(\s*,\s*[A-Za-z0-9_-]+)*)?\s*$/, 'must be comma-separated voice ids')
    .default('')
    .transform((v) =>
      v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    ),
  ELEVENLABS_MODEL_ID: z.string().min(1).default('eleven_multilingual_v2'),
  ELEVENLABS_BASE_URL: z.string().url().default('https://api.elevenlabs.io'),
  /** Music library: `<prefix><style>/manifest.json` in this bucket; generated music when unset. */
  AIPROD_MUSIC_BUCKET: z
    .string()
    .regex(/^[a-z0-9._-]{3,63}$/)
    .optional(),
  AIPROD_MUSIC_PREFIX: z.string().default('music/'),
  /** Longest input accepted, checked from ffprobe before the heavy work. */
  AIPROD_MAX_INPUT_SECONDS: int(3600, 1),
  /**
   * Circuit breakers around the voice providers, the music library and Pub/Sub publishing, one per
   * dependency and process. A breaker opens when more than FAILURE_PERCENT of the calls of the last
   * WINDOW_SECONDS failed transiently, once the window holds MIN_CALLS (so a quiet dependency's
   * first failures do not open it); open, it refuses calls without making them for RESET_MS, then
   * lets one trial call through, whose success closes it. Tests shorten RESET_MS.
   */
  AIPROD_BREAKER_FAILURE_PERCENT: z.coerce.number().int().min(0).max(99).default(50),
  AIPROD_BREAKER_MIN_CALLS: int(10, 1),
  AIPROD_BREAKER_WINDOW_SECONDS: int(60, 1),
  AIPROD_BREAKER_RESET_MS: int(30_000, 10),
  REDIS_URL: z.string().url().optional(),
  /** Memorystore's AUTH string and server CA (in-transit encryption), from Secret Manager. */
  REDIS_AUTH: z.string().min(1).optional(),
  REDIS_CA_CERT: z.string().min(1).optional(),
  /** Start of every rate-limit counter's Redis key, so deployments (or test runs) sharing one Redis keep apart. */
  AIPROD_RATE_LIMIT_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9:._-]{1,64}$/)
    .default('rl:'),
  /** How long usage counts wait in an instance's memory before one batched upsert writes them. */
  AIPROD_USAGE_FLUSH_SECONDS: int(10, 1),
  /**
   * Bearer token the scraper sends to GET /metrics (secret `metrics-token`): the figures are the
   * operators', not the partners'. Unset, /metrics is open in local mode and answers 503 on Google
   * Cloud; optional here because only the metrics function reads the secret.
   */
  AIPROD_METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
});

export type Config = z.infer<typeof schema> & { publicUrl: string };

/** Every environment variable the configuration reads. */
export const CONFIG_VARIABLES = Object.keys(schema.shape);

export class ConfigError extends Error {}

let cached: Config | undefined;

export function parseConfig(env: NodeJS.ProcessEnv): Config {
  // Parsed once per process: zod's compiled fast path would cost more to build than it saves.
  const result = schema.safeParse(env, { jitless: true });
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.join('.') || '(env)'}: ${i.message}`);
    throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
  }
  const c = result.data;
  return { ...c, publicUrl: (c.AIPROD_PUBLIC_URL ?? `http://localhost:${c.PORT}`).replace(/\/$/, '') };
}

/** The process configuration; a configuration error ends the process, since nothing can work without it. */
export function config(): Config {
  if (!cached) {
    try {
      cached = parseConfig(process.env);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      process.stderr.write(`aiprod: ${err.message}\n`);
      process.exit(78); // EX_CONFIG
    }
  }
  return cached;
}

/** Forget the cached configuration (tests change the environment between cases). */
export function resetConfig(): void {
  cached = undefined;
}
