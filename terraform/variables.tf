variable "project_id" {
  description = "Google Cloud project of this environment (one project per environment)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a valid project id."
  }
}

variable "region" {
  description = "Region of every regional resource (functions, Cloud SQL, Redis, buckets, keys)."
  type        = string
  default     = "europe-west1"

  validation {
    condition     = can(regex("^[a-z]+-[a-z]+[0-9]$", var.region))
    error_message = "region must be a region name such as europe-west1."
  }
}

variable "name_prefix" {
  description = "Prefix of infrastructure resource names (aiprod-postgres, aiprod-redis, aiprod-api...). Topic, subscription, secret and function names are the application's and carry no prefix."
  type        = string
  default     = "aiprod"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,13}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 3-15 lower-case letters, digits or '-', starting with a letter."
  }
}

variable "environment" {
  description = "Environment name, used in labels."
  type        = string
  default     = "prod"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,30}$", var.environment))
    error_message = "environment must be a lower-case label value."
  }
}

variable "labels" {
  description = "Extra labels applied to every resource that supports them."
  type        = map(string)
  default     = {}
}

variable "domains" {
  description = "Public domains of the API (managed certificate, URL map host rule). The first is canonical."
  type        = list(string)

  validation {
    condition     = length(var.domains) > 0
    error_message = "At least one domain is required."
  }
}

# ----- Function sources ----------------------------------------------------------------------

variable "source_version" {
  description = "Version of the function archives to deploy (Cloud Build passes the commit's short SHA): functions/<name>/<source_version>.zip in the sources bucket."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9._-]+$", var.source_version))
    error_message = "source_version must be a plain object name component, e.g. a short commit SHA."
  }
}

variable "source_versions" {
  description = "Per-function override of source_version, to roll back (or forward) a single function: { \"pipeline-run\" = \"a1b2c3d\" }."
  type        = map(string)
  default     = {}
}

variable "log_level" {
  description = "LOG_LEVEL of every function."
  type        = string
  default     = "info"

  validation {
    condition     = contains(["error", "warn", "info", "debug"], var.log_level)
    error_message = "log_level must be error, warn, info or debug."
  }
}

variable "voice_engine" {
  description = "AIPROD_VOICE_ENGINE of every function: google (Cloud Text-to-Speech) or elevenlabs. The local flite engine needs an ffmpeg built with libflite, which the deployed ffmpeg-static is not; elevenlabs also needs elevenlabs-api-key in job-processor's access.secrets in shared/platform/manifest.ts, and a version of that secret."
  type        = string
  default     = "google"

  validation {
    condition     = contains(["google", "elevenlabs"], var.voice_engine)
    error_message = "voice_engine must be google or elevenlabs."
  }
}

variable "identity_project" {
  description = "Identity Platform (Firebase Auth) project whose ID tokens POST /auth/login exchanges for API tokens (AIPROD_IDENTITY_PROJECT); empty means project_id."
  type        = string
  default     = ""

  validation {
    condition     = var.identity_project == "" || can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.identity_project))
    error_message = "identity_project must be empty or a valid project id."
  }
}

# ----- Data stores ---------------------------------------------------------------------------

variable "database_tier" {
  description = "Cloud SQL machine tier of the primary."
  type        = string
  default     = "db-custom-2-7680"
}

variable "database_instance_name" {
  description = "Cloud SQL primary instance name; null means <name_prefix>-postgres. Changed only to adopt a point-in-time recovery clone (docs/disaster-recovery.md)."
  type        = string
  default     = null
}

variable "database_disk_size_gb" {
  description = "Initial Cloud SQL disk size (it grows automatically)."
  type        = number
  default     = 50
}

variable "database_max_connections" {
  description = "PostgreSQL max_connections."
  type        = number
  default     = 400
}

variable "read_replica_count" {
  description = "Number of Cloud SQL read replicas: disaster-recovery promotion targets, and the first one serves the reads that tolerate lag (GET /jobs, through the database-replica-url secret). 0 turns them off: those reads go to the primary. Terraform writes only the first version of database-replica-url, so after changing this, point the secret at the new read instance (docs/disaster-recovery.md, \"Point the read path\")."
  type        = number
  default     = 1
}

variable "backup_location" {
  description = "Location of the Cloud SQL backups, e.g. \"eu\"; null keeps Cloud SQL's default multi-region."
  type        = string
  default     = null
}

variable "redis_memory_size_gb" {
  description = "Memorystore capacity."
  type        = number
  default     = 1
}

variable "outputs_retention_days" {
  description = "Days a finished job's output and result rows are kept: the outputs bucket's lifecycle rule and the sweeper's AIPROD_RETENTION_DAYS."
  type        = number
  default     = 30
}

variable "uploads_retention_days" {
  description = "Days an uploaded source file is kept: the uploads bucket's lifecycle rule and the sweeper's AIPROD_UPLOADS_RETENTION_DAYS."
  type        = number
  default     = 7
}

variable "trusted_proxy_hops" {
  description = "Proxies that append the caller's address to X-Forwarded-For in front of the functions (AIPROD_TRUSTED_PROXY_HOPS): 2 for the external Application Load Balancer alone; one more for each proxy of your own in front of it that appends and that callers cannot go around."
  type        = number
  default     = 2

  validation {
    condition     = var.trusted_proxy_hops >= 2 && var.trusted_proxy_hops <= 10 && floor(var.trusted_proxy_hops) == var.trusted_proxy_hops
    error_message = "trusted_proxy_hops must be a whole number from 2 to 10: the load balancer alone appends two entries."
  }
}

variable "upload_cors_origins" {
  description = "Browser origins (e.g. https://app.example.com) allowed to PUT files to signed upload URLs. Empty: uploads from servers only."
  type        = list(string)
  default     = []
}

variable "kms_rotation_period" {
  description = "Rotation period of every KMS key."
  type        = string
  default     = "7776000s"
}

variable "secret_rotation_period" {
  description = "Rotation period of the secrets the declaration marks rotate: Secret Manager sends a SECRET_ROTATE notice on the secret-rotation topic, and the secret-rotator rotates the metrics token or reports a third-party key (secret.rotation_due)."
  type        = string
  default     = "7776000s"
}

# ----- Edge ----------------------------------------------------------------------------------

variable "armor_preview" {
  description = "Run every Cloud Armor rule in preview (log only). Turn on to roll out rule changes, then off."
  type        = bool
  default     = false
}

variable "geo_block_regions" {
  description = "Region codes denied by Cloud Armor."
  type        = list(string)
  default     = []
}

variable "rate_limit_per_minute" {
  description = "Requests per IP per minute before a 10-minute ban."
  type        = number
  default     = 1000
}

# ----- Monitoring ----------------------------------------------------------------------------

variable "alert_emails" {
  description = "On-call addresses notified of every alert."
  type        = list(string)
}

variable "slack_channel_name" {
  description = "Slack channel of the native Cloud Monitoring Slack channel; empty for none (alerts still go to alert_emails and to the monitoring-alerts topic, which alert-notifier posts to the Slack webhook of the slack-webhook-url secret)."
  type        = string
  default     = ""
}

variable "slack_auth_token" {
  description = "OAuth token of the Cloud Monitoring Slack app (with slack_channel_name)."
  type        = string
  default     = ""
  sensitive   = true
}

variable "runbook_base_url" {
  description = "Browsable base of this repository (e.g. https://github.com/<org>/aiprod/blob/main); alerts link <base>/docs/runbooks/<name>.md."
  type        = string
  default     = ""
}
