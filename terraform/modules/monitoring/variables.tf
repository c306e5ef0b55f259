variable "project_id" {
  description = "Project that holds the alerting, metrics and dashboards."
  type        = string
}

variable "name_prefix" {
  description = "Prefix of log-based metric names and policy display names."
  type        = string
}

variable "notification_emails" {
  description = "On-call addresses that receive every alert."
  type        = list(string)

  validation {
    condition     = length(var.notification_emails) > 0 && alltrue([for e in var.notification_emails : can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", e))])
    error_message = "notification_emails needs at least one valid address."
  }
}

variable "slack_channel_name" {
  description = "Slack channel (e.g. #aiprod-alerts) of the native Cloud Monitoring Slack channel. Empty: no native Slack channel (alert-notifier posts to Slack from monitoring-alerts)."
  type        = string
  default     = ""
}

variable "slack_auth_token" {
  description = "OAuth token of the Cloud Monitoring Slack app, required with slack_channel_name."
  type        = string
  default     = ""
  sensitive   = true
}

variable "alerts_topic_id" {
  description = "Id of the monitoring-alerts topic (Pub/Sub notification channel, read by alert-notifier)."
  type        = string
}

variable "monitoring_notification_agent" {
  description = "Email of the Cloud Monitoring notification service agent (service-<number>@gcp-sa-monitoring-notification.iam.gserviceaccount.com), which publishes to the Pub/Sub channel."
  type        = string
}

variable "runbook_base_url" {
  description = "Where docs/ is browsable (e.g. https://github.com/<org>/aiprod/blob/main). Alert documentation links <base>/docs/runbooks/<runbook>.md."
  type        = string
  default     = ""
}

variable "url_map_name" {
  description = "API URL map name (load balancer metrics)."
  type        = string
}

variable "function_names" {
  description = "Every deployed function (Cloud Run service) name."
  type        = list(string)
}

variable "push_subscriptions" {
  description = "Push subscription of every event function: subscription name and ack deadline, by function name."
  type = map(object({
    subscription         = string
    ack_deadline_seconds = number
  }))
}

variable "dead_letter_subscriptions" {
  description = "Subscriptions that hold dead letters."
  type        = list(string)
}

variable "database_instance_name" {
  description = "Primary Cloud SQL instance name (replicas share it as a prefix)."
  type        = string
}

variable "database_max_connections" {
  description = "PostgreSQL max_connections, to alert before it is reached."
  type        = number
}

variable "error_ratio_threshold" {
  description = "Share of 5xx responses that pages (0.01 = 1%)."
  type        = number
  default     = 0.01

  validation {
    condition     = var.error_ratio_threshold > 0 && var.error_ratio_threshold < 1
    error_message = "error_ratio_threshold is a ratio between 0 and 1."
  }
}

variable "latency_p95_threshold_ms" {
  description = "p95 load balancer latency that alerts, in milliseconds."
  type        = number
  default     = 1000

  validation {
    condition     = var.latency_p95_threshold_ms > 0
    error_message = "latency_p95_threshold_ms must be positive."
  }
}

variable "oldest_unacked_threshold_seconds" {
  description = "Age of the oldest unacknowledged message that alerts. A subscription whose ack deadline is longer (a media job may legitimately hold its message that long) uses its ack deadline instead."
  type        = number
  default     = 300

  validation {
    condition     = var.oldest_unacked_threshold_seconds >= 60
    error_message = "oldest_unacked_threshold_seconds must be at least 60."
  }
}

variable "job_failures_threshold" {
  description = "Failed jobs (event job.failed) in 15 minutes that alert."
  type        = number
  default     = 10

  validation {
    condition     = var.job_failures_threshold >= 1
    error_message = "job_failures_threshold must be at least 1."
  }
}

variable "labels" {
  description = "User labels of the alert policies."
  type        = map(string)
  default     = {}
}
