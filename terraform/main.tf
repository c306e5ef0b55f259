locals {
  # The manifest is the only list of functions: what it declares is deployed, routed and
  # subscribed; nothing else is.
  manifest = jsondecode(file("${path.module}/../functions/manifest.json"))

  labels = merge(var.labels, {
    app          = var.name_prefix
    environment  = var.environment
    "managed-by" = "terraform"
  })

  # Every Secret Manager secret, as the platform declaration lists them.
  secrets = module.manifest.secrets

  function_environment = {
    AIPROD_MODE           = "gcp"
    GOOGLE_CLOUD_PROJECT  = var.project_id
    AIPROD_UPLOADS_BUCKET = module.storage.uploads_bucket
    AIPROD_OUTPUTS_BUCKET = module.storage.outputs_bucket
    AIPROD_PUBLIC_URL     = "https://${var.domains[0]}"
    REDIS_URL             = module.cache.url
    REDIS_CA_CERT         = module.cache.server_ca_cert
    LOG_LEVEL             = var.log_level
    AIPROD_VOICE_ENGINE   = var.voice_engine
    # Whose Identity Platform ID tokens POST /auth/login accepts: this project unless told otherwise.
    AIPROD_IDENTITY_PROJECT = coalesce(var.identity_project, var.project_id)
    # Where alert-notifier's Slack messages link the runbooks (the alert policies' links too).
    AIPROD_RUNBOOK_BASE_URL = var.runbook_base_url
    # The sweeper's retention, from the same variables as the buckets' lifecycle rules: one number each.
    AIPROD_RETENTION_DAYS         = tostring(var.outputs_retention_days)
    AIPROD_UPLOADS_RETENTION_DAYS = tostring(var.uploads_retention_days)
    # Whose address the per-address limits of anonymous callers count (X-Forwarded-For hops).
    AIPROD_TRUSTED_PROXY_HOPS = tostring(var.trusted_proxy_hops)
  }
}

module "manifest" {
  source = "./modules/manifest"

  manifest = local.manifest
}

module "kms" {
  source = "./modules/kms"

  project_id      = var.project_id
  region          = var.region
  name_prefix     = var.name_prefix
  rotation_period = var.kms_rotation_period
  labels          = var.labels
  service_agents = {
    database = google_project_service_identity.sqladmin.email
    cache    = google_project_service_identity.redis.email
    storage  = data.google_storage_project_service_account.this.email_address
    secrets  = google_project_service_identity.secretmanager.email
  }
}

module "network" {
  source = "./modules/network"

  project_id  = var.project_id
  region      = var.region
  name_prefix = var.name_prefix

  depends_on = [google_project_service.this]
}

module "storage" {
  source = "./modules/storage"

  project_id             = var.project_id
  region                 = var.region
  name_prefix            = var.name_prefix
  kms_key_id             = module.kms.storage_key_id
  outputs_retention_days = var.outputs_retention_days
  uploads_retention_days = var.uploads_retention_days
  cors_origins           = var.upload_cors_origins
  labels                 = var.labels

  upload_finalized_topic_id = module.messaging.topic_ids["upload-finalized"]
  storage_service_agent     = data.google_storage_project_service_account.this.email_address
}

module "database" {
  source = "./modules/database"

  project_id         = var.project_id
  region             = var.region
  name_prefix        = var.name_prefix
  instance_name      = var.database_instance_name
  network_id         = module.network.private_service_access_network_id
  kms_key_id         = module.kms.database_key_id
  tier               = var.database_tier
  disk_size_gb       = var.database_disk_size_gb
  max_connections    = var.database_max_connections
  read_replica_count = var.read_replica_count
  backup_location    = var.backup_location
  labels             = var.labels
}

module "cache" {
  source = "./modules/cache"

  project_id        = var.project_id
  region            = var.region
  name_prefix       = var.name_prefix
  network_id        = module.network.private_service_access_network_id
  reserved_ip_range = module.network.private_service_access_range
  kms_key_id        = module.kms.cache_key_id
  memory_size_gb    = var.redis_memory_size_gb
  labels            = var.labels
}

module "messaging" {
  source = "./modules/messaging"

  project_id              = var.project_id
  topics                  = module.manifest.topics
  event_functions         = module.manifest.event_functions
  function_uris           = module.functions.event_uris
  invoker_service_account = module.functions.push_invoker_email
  pubsub_service_agent    = google_project_service_identity.pubsub.email
  labels                  = var.labels
}

# The key-encryption key of sensitive columns (webhook signing keys): 32 random bytes, written
# once as the first version of key-encryption-key. It stays in the state, as the database
# password does; later versions are the operator's.
resource "random_bytes" "key_encryption_key" {
  length = 32
}

# The Bearer token of GET /metrics, written once as the first version of metrics-token (the
# scraper reads it from there too); alphanumeric, so it goes into an Authorization header as is.
# Later versions come from its rotation.
resource "random_password" "metrics_token" {
  length  = 48
  special = false
}

module "secrets" {
  source = "./modules/secrets"

  project_id           = var.project_id
  region               = var.region
  name_prefix          = var.name_prefix
  kms_key_id           = module.kms.secrets_key_id
  rotation_topic_id    = module.messaging.topic_ids["secret-rotation"]
  secret_manager_agent = google_project_service_identity.secretmanager.email
  rotation_period      = var.secret_rotation_period
  secrets              = local.secrets
  labels               = var.labels

  # The replica's URL carries the same password as the primary's (a replica keeps its primary's
  # users), so it is seeded too: ops rotate both by hand (docs/disaster-recovery.md).
  seeded_secret_ids = ["database-url", "database-replica-url", "key-encryption-key", "metrics-token"]
  seeded_values = {
    "database-url"         = module.database.database_url
    "database-replica-url" = module.database.database_replica_url
    "key-encryption-key"   = random_bytes.key_encryption_key.base64
    "metrics-token"        = random_password.metrics_token.result
  }

  managed_secret_ids = ["redis-auth"]
  managed_values = {
    "redis-auth" = module.cache.auth_string
  }
}

module "functions" {
  source = "./modules/functions"

  project_id        = var.project_id
  region            = var.region
  name_prefix       = var.name_prefix
  functions         = module.manifest.functions
  source_bucket     = module.storage.sources_bucket
  source_version    = var.source_version
  source_versions   = var.source_versions
  vpc_connector_id  = module.network.connector_id
  environment       = local.function_environment
  available_secrets = module.secrets.secret_names
  topic_ids         = module.messaging.topic_ids
  uploads_bucket    = module.storage.uploads_bucket
  outputs_bucket    = module.storage.outputs_bucket
  app_kms_key_id    = module.kms.app_key_id
  labels            = var.labels
}

module "edge" {
  source = "./modules/edge"

  project_id        = var.project_id
  region            = var.region
  name_prefix       = var.name_prefix
  domains           = var.domains
  http_functions    = module.manifest.http_functions
  routes            = module.manifest.routes
  http_methods      = module.manifest.http_methods
  armor_preview     = var.armor_preview
  geo_block_regions = var.geo_block_regions
  rate_limit_count  = var.rate_limit_per_minute
  labels            = var.labels

  # The serverless NEGs name the functions; they must exist first.
  depends_on = [module.functions]
}

module "scheduler" {
  source = "./modules/scheduler"

  project_id           = var.project_id
  region               = var.region
  name_prefix          = var.name_prefix
  maintenance_topic_id = module.messaging.topic_ids["maintenance"]
}

module "monitoring" {
  source = "./modules/monitoring"

  project_id                    = var.project_id
  name_prefix                   = var.name_prefix
  notification_emails           = var.alert_emails
  slack_channel_name            = var.slack_channel_name
  slack_auth_token              = var.slack_auth_token
  alerts_topic_id               = module.messaging.topic_ids["monitoring-alerts"]
  monitoring_notification_agent = local.monitoring_notification_agent
  runbook_base_url              = var.runbook_base_url
  url_map_name                  = module.edge.url_map_name
  function_names                = keys(module.manifest.functions)
  database_instance_name        = module.database.instance_name
  database_max_connections      = var.database_max_connections
  dead_letter_subscriptions     = values(module.messaging.dead_letter_subscription_names)
  labels                        = var.labels

  push_subscriptions = {
    for name, f in module.manifest.event_functions : name => {
      subscription         = module.messaging.push_subscription_names[name]
      ack_deadline_seconds = f.ack_deadline_seconds
    }
  }
}

# Every instance of a database function may open its whole pool. This only warns: instances
# rarely all run at once, but when the sum outgrows max_connections, lower maxInstances or
# dbPoolMax in the manifest, or raise database_max_connections.
check "database_connection_budget" {
  assert {
    condition = sum(concat([0], [
      for f in module.manifest.functions : f.max_instances * f.db_pool_max if contains(f.secrets, "database-url")
    ])) <= var.database_max_connections
    error_message = "Worst case, the functions that read database-url open more connections (max instances x DATABASE_POOL_MAX) than database_max_connections allows. See docs/runbooks/cloudsql-connections.md."
  }
}
