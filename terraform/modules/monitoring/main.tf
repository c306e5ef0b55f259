locals {
  runbooks = var.runbook_base_url == "" ? "docs/runbooks" : "${trimsuffix(var.runbook_base_url, "/")}/docs/runbooks"

  channels = concat(
    [for c in google_monitoring_notification_channel.email : c.id],
    [for c in google_monitoring_notification_channel.slack : c.id],
    [google_monitoring_notification_channel.pubsub.id],
  )

  # Same selection in the two filter languages: Cloud Logging (log-based metrics) and Cloud
  # Monitoring (dashboards).
  functions_filter            = "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=(${join(" OR ", [for n in sort(var.function_names) : "\"${n}\""])})"
  functions_monitoring_filter = "resource.type=\"cloud_run_revision\" AND resource.label.service_name=one_of(${join(", ", [for n in sort(var.function_names) : "\"${n}\""])})"
  database_id                 = "${var.project_id}:${var.database_instance_name}"
  lb_filter                   = "resource.type=\"https_lb_rule\" AND resource.label.url_map_name=\"${var.url_map_name}\""

  # Log-based metrics. The application events are the `event` field of the structured logs the
  # code writes (shared logger); crash and out-of-memory also come from Cloud Run's own logs.
  log_metrics = {
    function_crash = {
      name        = "${var.name_prefix}-function-crash"
      description = "Function instances that crashed: application event function.crash or a non-zero container exit."
      filter      = "${local.functions_filter} AND (jsonPayload.event=\"function.crash\" OR (textPayload:\"Container called exit\" AND NOT textPayload:\"exit(0)\"))"
      by_function = true
    }
    function_oom = {
      name        = "${var.name_prefix}-function-oom"
      description = "Function instances killed for exceeding their memory limit."
      filter      = "${local.functions_filter} AND textPayload:\"Memory limit of\" AND textPayload:\"exceeded\""
      by_function = true
    }
    job_failed = {
      name        = "${var.name_prefix}-job-failed"
      description = "Jobs that ended FAILED (application event job.failed)."
      filter      = "${local.functions_filter} AND jsonPayload.event=\"job.failed\""
      by_function = true
    }
    webhook_auto_disabled = {
      name        = "${var.name_prefix}-webhook-auto-disabled"
      description = "Partner webhooks disabled after repeated delivery failures (application event webhook.auto_disabled)."
      filter      = "${local.functions_filter} AND jsonPayload.event=\"webhook.auto_disabled\""
      by_function = true
    }
    secret_rotation_failed = {
      name        = "${var.name_prefix}-secret-rotation-failed"
      description = "Secret rotations that failed (application event secret_rotation.failed)."
      filter      = "${local.functions_filter} AND jsonPayload.event=\"secret_rotation.failed\""
      by_function = true
    }
    backup_failed = {
      name        = "${var.name_prefix}-backup-failed"
      description = "Automated Cloud SQL backups that failed or overran their window (System Event audit log)."
      filter      = "resource.type=\"cloudsql_database\" AND resource.labels.database_id=\"${local.database_id}\" AND logName=\"projects/${var.project_id}/logs/cloudaudit.googleapis.com%2Fsystem_event\" AND protoPayload.methodName=\"cloudsql.instances.automatedBackup\" AND (severity>=ERROR OR protoPayload.metadata.windowStatus=~\"FAILED|OVERDUE\")"
      by_function = false
    }
  }

  # Built from the resources so that a policy is created after the metric it watches.
  log_metric_types = { for k, m in google_logging_metric.this : k => "logging.googleapis.com/user/${m.name}" }

  # An alert policy holds at most 6 conditions: one condition per distinct threshold, each
  # covering every subscription that shares it.
  backlog_threshold_by_subscription = {
    for fn, s in var.push_subscriptions : s.subscription => max(var.oldest_unacked_threshold_seconds, s.ack_deadline_seconds)
  }
  backlog_groups = {
    for t in distinct(values(local.backlog_threshold_by_subscription)) : tostring(t) => sort([
      for sub, th in local.backlog_threshold_by_subscription : sub if th == t
    ])
  }
}

# ---------------------------------------------------------------------------------------------
# Notification channels
# ---------------------------------------------------------------------------------------------

resource "google_monitoring_notification_channel" "email" {
  for_each = toset(var.notification_emails)

  project      = var.project_id
  display_name = "${var.name_prefix} on-call ${each.key}"
  type         = "email"
  labels = {
    email_address = each.key
  }
}

resource "google_monitoring_notification_channel" "slack" {
  count = var.slack_channel_name == "" ? 0 : 1

  project      = var.project_id
  display_name = "${var.name_prefix} Slack ${var.slack_channel_name}"
  type         = "slack"
  labels = {
    channel_name = var.slack_channel_name
  }
  sensitive_labels {
    auth_token = var.slack_auth_token
  }
}

# The alert-notifier function reads this topic and posts to Slack with the runbook link, so the
# Slack path works even without the native Slack channel.
resource "google_monitoring_notification_channel" "pubsub" {
  project      = var.project_id
  display_name = "${var.name_prefix} monitoring-alerts topic"
  type         = "pubsub"
  labels = {
    topic = var.alerts_topic_id
  }
}

resource "google_pubsub_topic_iam_member" "monitoring_publisher" {
  project = var.project_id
  topic   = var.alerts_topic_id
  role    = "roles/pubsub.publisher"
  member  = "serviceAccount:${var.monitoring_notification_agent}"

  depends_on = [google_monitoring_notification_channel.pubsub]
}

# ---------------------------------------------------------------------------------------------
# Log-based metrics
# ---------------------------------------------------------------------------------------------

resource "google_logging_metric" "this" {
  for_each = local.log_metrics

  project     = var.project_id
  name        = each.value.name
  description = each.value.description
  filter      = each.value.filter

  metric_descriptor {
    metric_kind  = "DELTA"
    value_type   = "INT64"
    unit         = "1"
    display_name = each.value.name

    dynamic "labels" {
      for_each = each.value.by_function ? ["function"] : []
      content {
        key         = labels.value
        value_type  = "STRING"
        description = "Function (Cloud Run service) that wrote the entry."
      }
    }
  }

  label_extractors = each.value.by_function ? {
    function = "EXTRACT(resource.labels.service_name)"
  } : {}
}

# ---------------------------------------------------------------------------------------------
# Alert policies. Every policy notifies every channel and links its runbook.
# ---------------------------------------------------------------------------------------------

resource "google_monitoring_alert_policy" "api_5xx_ratio" {
  project               = var.project_id
  display_name          = "${var.name_prefix}: API 5xx ratio above ${var.error_ratio_threshold * 100}%"
  combiner              = "OR"
  severity              = "CRITICAL"
  notification_channels = local.channels
  user_labels           = merge(var.labels, { runbook = "high-error-rate" })

  conditions {
    display_name = "5xx / all responses > ${var.error_ratio_threshold * 100}% for 5 min"
    condition_threshold {
      filter             = "${local.lb_filter} AND metric.type=\"loadbalancing.googleapis.com/https/request_count\" AND metric.label.response_code_class=500"
      denominator_filter = "${local.lb_filter} AND metric.type=\"loadbalancing.googleapis.com/https/request_count\""
      comparison         = "COMPARISON_GT"
      threshold_value    = var.error_ratio_threshold
      duration           = "300s"
      aggregations {
        alignment_period     = "60s"
        per_series_aligner   = "ALIGN_RATE"
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = ["resource.label.url_map_name"]
      }
      denominator_aggregations {
        alignment_period     = "60s"
        per_series_aligner   = "ALIGN_RATE"
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = ["resource.label.url_map_name"]
      }
      trigger {
        count = 1
      }
    }
  }

  alert_strategy {
    auto_close = "1800s"
  }

  documentation {
    mime_type = "text/markdown"
    subject   = "AIPROD API error ratio above ${var.error_ratio_threshold * 100}%"
    content   = <<-EOT
      More than ${var.error_ratio_threshold * 100}% of API responses through the load balancer `${var.url_map_name}` were 5xx for 5 minutes.

      Runbook: ${local.runbooks}/high-error-rate.md
    EOT
  }
}

resource "google_monitoring_alert_policy" "api_latency_p95" {
  project               = var.project_id
  display_name          = "${var.name_prefix}: API p95 latency above ${var.latency_p95_threshold_ms} ms"
  combiner              = "OR"
  severity              = "ERROR"
  notification_channels = local.channels
  user_labels           = merge(var.labels, { runbook = "high-latency" })

  conditions {
    display_name = "p95 total latency > ${var.latency_p95_threshold_ms} ms for 5 min, per backend"
    condition_threshold {
      filter          = "${local.lb_filter} AND metric.type=\"loadbalancing.googleapis.com/https/total_latencies\""
      comparison      = "COMPARISON_GT"
      threshold_value = var.latency_p95_threshold_ms
      duration        = "300s"
      aggregations {
        alignment_period     = "60s"
        per_series_aligner   = "ALIGN_DELTA"
        cross_series_reducer = "REDUCE_PERCENTILE_95"
        group_by_fields      = ["resource.label.backend_target_name"]
      }
      trigger {
        count = 1
      }
    }
  }

  alert_strategy {
    auto_close = "1800s"
  }

  documentation {
    mime_type = "text/markdown"
    subject   = "AIPROD API p95 latency above ${var.latency_p95_threshold_ms} ms"
    content   = <<-EOT
      The 95th percentile of load balancer latency for one backend of `${var.url_map_name}` stayed above ${var.latency_p95_threshold_ms} ms for 5 minutes. The backend is named ${var.name_prefix}-be-<function>.

      Runbook: ${local.runbooks}/high-latency.md
    EOT
  }
}

resource "google_monitoring_alert_policy" "cloudsql_connections" {
  project               = var.project_id
  display_name          = "${var.name_prefix}: Cloud SQL connections above 80% of max_connections"
  combiner              = "OR"
  severity              = "ERROR"
  notification_channels = local.channels
  user_labels           = merge(var.labels, { runbook = "cloudsql-connections" })

  conditions {
    display_name = "Backends > ${floor(var.database_max_connections * 0.8)} for 5 min"
    condition_threshold {
      filter          = "resource.type=\"cloudsql_database\" AND resource.label.database_id=starts_with(\"${local.database_id}\") AND metric.type=\"cloudsql.googleapis.com/database/postgresql/num_backends\""
      comparison      = "COMPARISON_GT"
      threshold_value = floor(var.database_max_connections * 0.8)
      duration        = "300s"
      aggregations {
        alignment_period     = "60s"
        per_series_aligner   = "ALIGN_MEAN"
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = ["resource.label.database_id"]
      }
      trigger {
        count = 1
      }
    }
  }

  alert_strategy {
    auto_close = "1800s"
  }

  documentation {
    mime_type = "text/markdown"
    subject   = "AIPROD Cloud SQL connections near max_connections"
    content   = <<-EOT
      Instance `${var.database_instance_name}` (or one of its replicas) has held more than 80% of its ${var.database_max_connections} connections for 5 minutes.

      Runbook: ${local.runbooks}/cloudsql-connections.md
    EOT
  }
}

resource "google_monitoring_alert_policy" "cloudsql_cpu" {
  project               = var.project_id
  display_name          = "${var.name_prefix}: Cloud SQL CPU above 80%"
  combiner              = "OR"
  severity              = "WARNING"
  notification_channels = local.channels
  user_labels           = merge(var.labels, { runbook = "cloudsql-cpu" })

  conditions {
    display_name = "CPU utilization > 80% for 10 min"
    condition_threshold {
      filter          = "resource.type=\"cloudsql_database\" AND resource.label.database_id=starts_with(\"${local.database_id}\") AND metric.type=\"cloudsql.googleapis.com/database/cpu/utilization\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0.8
      duration        = "600s"
      aggregations {
        alignment_period   = "60s"
        per_series_aligner = "ALIGN_MEAN"
      }
      trigger {
        count = 1
      }
    }
  }

  alert_strategy {
    auto_close = "1800s"
  }

  documentation {
    mime_type = "text/markdown"
    subject   = "AIPROD Cloud SQL CPU above 80%"
    content   = <<-EOT
      Instance `${var.database_instance_name}` (or one of its replicas) has used more than 80% CPU for 10 minutes.

      Runbook: ${local.runbooks}/cloudsql-cpu.md
    EOT
  }
}

resource "google_monitoring_alert_policy" "cloudsql_memory" {
  project               = var.project_id
  display_name          = "${var.name_prefix}: Cloud SQL memory above 90%"
  combiner              = "OR"
  severity              = "WARNING"
  notification_channels = local.channels
  user_labels           = merge(var.labels, { runbook = "cloudsql-memory" })

  conditions {
    display_name = "Memory utilization > 90% for 10 min"
    condition_threshold {
      filter          = "resource.type=\"cloudsql_database\" AND resource.label.database_id=starts_with(\"${local.database_id}\") AND metric.type=\"cloudsql.googleapis.com/database/memory/utilization\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0.9
      duration        = "600s"
      aggregations {
        alignment_period   = "60s"
        per_series_aligner = "ALIGN_MEAN"
      }
      trigger {
        count = 1
      }
    }
  }

  alert_strategy {
    auto_close = "1800s"
  }

  documentation {
    mime_type = "text/markdown"
    subject   = "AIPROD Cloud SQL memory above 90%"
    content   = <<-EOT
      Instance `${var.database_instance_name}` (or one of its replicas) has used more than 90% of its memory for 10 minutes.

      Runbook: ${local.runbooks}/cloudsql-memory.md
    EOT
  }
}

resource "google_monitoring_alert_policy" "function_crash" {
  project               = var.project_id
  display_name          = "${var.name_prefix}: function crashed"
  combiner              = "OR"
  severity              = "ERROR"
  notification_channels = local.channels
  user_labels           = merge(var.labels, { runbook = "function-crash" })

  conditions {
    display_name = "Crash logged by a function"
    condition_threshold {
      filter          = "resource.type=\"cloud_run_revision\" AND metric.type=\"${local.log_metric_types.function_crash}\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "0s"
      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = ["metric.label.function"]
      }
      trigger {
        count = 1
      }
    }
  }

  alert_strategy {
    auto_close = "3600s"
  }

  documentation {
    mime_type = "text/markdown"
    subject   = "AIPROD function crash"
    content   = <<-EOT
      A function instance crashed (log-based metric `${google_logging_metric.this["function_crash"].name}`; the `function` label names it).

      Runbook: ${local.runbooks}/function-crash.md
    EOT
  }
}

resource "google_monitoring_alert_policy" "function_oom" {
  project               = var.project_id
  display_name          = "${var.name_prefix}: function out of memory"
  combiner              = "OR"
  severity              = "ERROR"
  notification_channels = local.channels
  user_labels           = merge(var.labels, { runbook = "function-out-of-memory" })

  conditions {
    display_name = "Instance killed for exceeding its memory limit"
    condition_threshold {
      filter          = "resource.type=\"cloud_run_revision\" AND metric.type=\"${local.log_metric_types.function_oom}\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "0s"
      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = ["metric.label.function"]
      }
      trigger {
        count = 1
      }
    }
  }

  alert_strategy {
    auto_close = "3600s"
  }

  documentation {
    mime_type = "text/markdown"
    subject   = "AIPROD function out of memory"
    content   = <<-EOT
      A function instance exceeded its memory limit and was killed (log-based metric `${google_logging_metric.this["function_oom"].name}`).

      Runbook: ${local.runbooks}/function-out-of-memory.md
    EOT
  }
}

resource "google_monitoring_alert_policy" "dead_letter" {
  project               = var.project_id
  display_name          = "${var.name_prefix}: message in a dead-letter topic"
  combiner              = "OR"
  severity              = "ERROR"
  notification_channels = local.channels
  user_labels           = merge(var.labels, { runbook = "dead-letter-messages" })

  conditions {
    display_name = "Undelivered messages in a dead-letter subscription"
    condition_threshold {
      filter          = "resource.type=\"pubsub_subscription\" AND resource.label.subscription_id=one_of(${join(", ", [for s in sort(var.dead_letter_subscriptions) : "\"${s}\""])}) AND metric.type=\"pubsub.googleapis.com/subscription/num_undelivered_messages\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "0s"
      aggregations {
        alignment_period   = "60s"
        per_series_aligner = "ALIGN_MAX"
      }
      trigger {
        count = 1
      }
    }
  }

  alert_strategy {
    auto_close = "3600s"
  }

  documentation {
    mime_type = "text/markdown"
    subject   = "AIPROD message dead-lettered"
    content   = <<-EOT
      A message exhausted its delivery attempts and sits in a dead-letter subscription (<topic>-dead-letter-sub). The job, notification or rotation it carried did not happen.

      Runbook: ${local.runbooks}/dead-letter-messages.md
    EOT
  }
}

resource "google_monitoring_alert_policy" "pubsub_backlog" {
  project               = var.project_id
  display_name          = "${var.name_prefix}: oldest unacked message too old"
  combiner              = "OR"
  severity              = "ERROR"
  notification_channels = local.channels
  user_labels           = merge(var.labels, { runbook = "pubsub-backlog" })

  dynamic "conditions" {
    for_each = local.backlog_groups
    content {
      display_name = "Oldest unacked > ${conditions.key} s (${join(", ", conditions.value)})"
      condition_threshold {
        filter          = "resource.type=\"pubsub_subscription\" AND resource.label.subscription_id=one_of(${join(", ", [for sub in conditions.value : "\"${sub}\""])}) AND metric.type=\"pubsub.googleapis.com/subscription/oldest_unacked_message_age\""
        comparison      = "COMPARISON_GT"
        threshold_value = tonumber(conditions.key)
        duration        = "120s"
        aggregations {
          alignment_period   = "60s"
          per_series_aligner = "ALIGN_MAX"
        }
        trigger {
          count = 1
        }
      }
    }
  }

  lifecycle {
    precondition {
      condition     = length(local.backlog_groups) <= 6
      error_message = "More than 6 distinct backlog thresholds: an alert policy holds at most 6 conditions."
    }
  }

  alert_strategy {
    auto_close = "1800s"
  }

  documentation {
    mime_type = "text/markdown"
    subject   = "AIPROD Pub/Sub backlog"
    content   = <<-EOT
      The oldest unacknowledged message of a push subscription is older than ${var.oldest_unacked_threshold_seconds} s (or than the subscription's ack deadline, when longer). Deliveries are failing or the function cannot keep up.

      Runbook: ${local.runbooks}/pubsub-backlog.md
    EOT
  }
}

resource "google_monitoring_alert_policy" "backup_failure" {
  project               = var.project_id
  display_name          = "${var.name_prefix}: Cloud SQL backup failed"
  combiner              = "OR"
  severity              = "CRITICAL"
  notification_channels = local.channels
  user_labels           = merge(var.labels, { runbook = "backup-failure" })

  conditions {
    display_name = "Automated backup failed or overdue"
    condition_threshold {
      filter          = "resource.type=\"cloudsql_database\" AND metric.type=\"${local.log_metric_types.backup_failed}\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "0s"
      aggregations {
        alignment_period   = "300s"
        per_series_aligner = "ALIGN_SUM"
      }
      trigger {
        count = 1
      }
    }
  }

  alert_strategy {
    auto_close = "86400s"
  }

  documentation {
    mime_type = "text/markdown"
    subject   = "AIPROD Cloud SQL backup failed"
    content   = <<-EOT
      The automated backup of `${var.database_instance_name}` failed or overran its window: the recovery point objective is at risk until a backup succeeds.

      Runbook: ${local.runbooks}/backup-failure.md
    EOT
  }
}

resource "google_monitoring_alert_policy" "secret_rotation_failure" {
  project               = var.project_id
  display_name          = "${var.name_prefix}: secret rotation failed"
  combiner              = "OR"
  severity              = "ERROR"
  notification_channels = local.channels
  user_labels           = merge(var.labels, { runbook = "secret-rotation-failure" })

  conditions {
    display_name = "secret_rotation.failed logged"
    condition_threshold {
      filter          = "resource.type=\"cloud_run_revision\" AND metric.type=\"${local.log_metric_types.secret_rotation_failed}\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "0s"
      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = ["metric.label.function"]
      }
      trigger {
        count = 1
      }
    }
  }

  alert_strategy {
    auto_close = "86400s"
  }

  documentation {
    mime_type = "text/markdown"
    subject   = "AIPROD secret rotation failed"
    content   = <<-EOT
      The secret-rotator logged `secret_rotation.failed`: a secret is past its rotation date or half-rotated.

      Runbook: ${local.runbooks}/secret-rotation-failure.md
    EOT
  }
}

resource "google_monitoring_alert_policy" "webhook_auto_disabled" {
  project               = var.project_id
  display_name          = "${var.name_prefix}: partner webhook auto-disabled"
  combiner              = "OR"
  severity              = "WARNING"
  notification_channels = local.channels
  user_labels           = merge(var.labels, { runbook = "webhook-auto-disabled" })

  conditions {
    display_name = "webhook.auto_disabled logged"
    condition_threshold {
      filter          = "resource.type=\"cloud_run_revision\" AND metric.type=\"${local.log_metric_types.webhook_auto_disabled}\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "0s"
      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = ["metric.label.function"]
      }
      trigger {
        count = 1
      }
    }
  }

  alert_strategy {
    auto_close = "86400s"
  }

  documentation {
    mime_type = "text/markdown"
    subject   = "AIPROD partner webhook auto-disabled"
    content   = <<-EOT
      A partner webhook kept failing and was disabled (`webhook.auto_disabled`). That partner no longer receives notifications until it is re-enabled.

      Runbook: ${local.runbooks}/webhook-auto-disabled.md
    EOT
  }
}

resource "google_monitoring_alert_policy" "job_failures" {
  project               = var.project_id
  display_name          = "${var.name_prefix}: failed jobs above ${var.job_failures_threshold} in 15 min"
  combiner              = "OR"
  severity              = "ERROR"
  notification_channels = local.channels
  user_labels           = merge(var.labels, { runbook = "job-failures" })

  conditions {
    display_name = "job.failed > ${var.job_failures_threshold} in 15 min"
    condition_threshold {
      filter          = "resource.type=\"cloud_run_revision\" AND metric.type=\"${local.log_metric_types.job_failed}\""
      comparison      = "COMPARISON_GT"
      threshold_value = var.job_failures_threshold
      duration        = "0s"
      aggregations {
        alignment_period     = "900s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
      }
      trigger {
        count = 1
      }
    }
  }

  alert_strategy {
    auto_close = "3600s"
  }

  documentation {
    mime_type = "text/markdown"
    subject   = "AIPROD failed jobs spike"
    content   = <<-EOT
      More than ${var.job_failures_threshold} jobs ended FAILED in 15 minutes (`job.failed`).

      Runbook: ${local.runbooks}/job-failures.md
    EOT
  }
}

# ---------------------------------------------------------------------------------------------
# Dashboards
# ---------------------------------------------------------------------------------------------

resource "google_monitoring_dashboard" "this" {
  for_each = toset(["api", "infrastructure", "database", "business"])

  project = var.project_id
  dashboard_json = templatefile("${path.module}/dashboards/${each.key}.json", {
    name_prefix      = var.name_prefix
    project_id       = var.project_id
    url_map_name     = var.url_map_name
    database_id      = local.database_id
    functions_filter = replace(local.functions_monitoring_filter, "\"", "\\\"")
  })

  depends_on = [google_logging_metric.this]
}
