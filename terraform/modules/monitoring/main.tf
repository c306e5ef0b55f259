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
  # code writes (shared logger); a metric on an event is added together with the code that
  # writes it. Crash, out-of-memory and backup failures come from Google's own logs.
  log_metrics = {
    function_crash = {
      name        = "${var.name_prefix}-function-crash"
      description = "Function instances that crashed: a non-zero container exit in Cloud Run's logs."
      filter      = "${local.functions_filter} AND textPayload:\"Container called exit\" AND NOT textPayload:\"exit(0)\""
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
    webhook_disabled = {
      name        = "${var.name_prefix}-webhook-disabled"
      description = "Webhooks the delivery path disabled: 410 Gone, or too many deliveries in a row failed (application event webhook.disabled)."
      filter      = "${local.functions_filter} AND jsonPayload.event=\"webhook.disabled\""
      by_function = true
    }
    secret_rotation_failed = {
      name        = "${var.name_prefix}-secret-rotation-failed"
      description = "Secret rotations that failed at a step and were rolled back, or were left for the next tick (application event secret.rotation_failed)."
      filter      = "${local.functions_filter} AND jsonPayload.event=\"secret.rotation_failed\""
      by_function = true
    }
    alert_not_posted = {
      name        = "${var.name_prefix}-alert-not-posted"
      description = "Incidents alert-notifier could not post to Slack for good: Slack refused them, no webhook URL is set, or the message was no incident (application event alert.not_posted)."
      filter      = "${local.functions_filter} AND jsonPayload.event=\"alert.not_posted\""
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

  # Terraform's arbitrary-precision arithmetic renders 0.01 * 100 as 0.999...; 4 significant
  # digits print it as 1.
  error_ratio_percent = format("%.4g", var.error_ratio_threshold * 100)
  cloudsql_filter     = "resource.type=\"cloudsql_database\" AND resource.label.database_id=starts_with(\"${local.database_id}\")"

  # Alert policies, by key. Each notifies every channel and links docs/runbooks/<runbook>.md.
  # A condition is a metric threshold (comparison GT, one trigger): display_name, filter,
  # threshold, duration, alignment_period and aligner, plus the optional fields of
  # condition_defaults: a cross-series reducer with its group_by, and a denominator_filter for a
  # ratio.
  alert_policies = {
    api_5xx_ratio = {
      title      = "API 5xx ratio above ${local.error_ratio_percent}%"
      severity   = "CRITICAL"
      runbook    = "high-error-rate"
      auto_close = "1800s"
      subject    = "AIPROD API error ratio above ${local.error_ratio_percent}%"
      summary    = "More than ${local.error_ratio_percent}% of API responses through the load balancer `${var.url_map_name}` were 5xx for 5 minutes."
      conditions = [{
        display_name       = "5xx / all responses > ${local.error_ratio_percent}% for 5 min"
        filter             = "${local.lb_filter} AND metric.type=\"loadbalancing.googleapis.com/https/request_count\" AND metric.label.response_code_class=500"
        denominator_filter = "${local.lb_filter} AND metric.type=\"loadbalancing.googleapis.com/https/request_count\""
        threshold          = var.error_ratio_threshold
        duration           = "300s"
        alignment_period   = "60s"
        aligner            = "ALIGN_RATE"
        reducer            = "REDUCE_SUM"
        group_by           = ["resource.label.url_map_name"]
      }]
    }
    api_latency_p95 = {
      title      = "API p95 latency above ${var.latency_p95_threshold_ms} ms"
      severity   = "ERROR"
      runbook    = "high-latency"
      auto_close = "1800s"
      subject    = "AIPROD API p95 latency above ${var.latency_p95_threshold_ms} ms"
      summary    = "The 95th percentile of load balancer latency for one backend of `${var.url_map_name}` stayed above ${var.latency_p95_threshold_ms} ms for 5 minutes. The backend is named ${var.name_prefix}-be-<function>."
      conditions = [{
        display_name     = "p95 total latency > ${var.latency_p95_threshold_ms} ms for 5 min, per backend"
        filter           = "${local.lb_filter} AND metric.type=\"loadbalancing.googleapis.com/https/total_latencies\""
        threshold        = var.latency_p95_threshold_ms
        duration         = "300s"
        alignment_period = "60s"
        aligner          = "ALIGN_DELTA"
        reducer          = "REDUCE_PERCENTILE_95"
        group_by         = ["resource.label.backend_target_name"]
      }]
    }
    cloudsql_connections = {
      title      = "Cloud SQL connections above 80% of max_connections"
      severity   = "ERROR"
      runbook    = "cloudsql-connections"
      auto_close = "1800s"
      subject    = "AIPROD Cloud SQL connections near max_connections"
      summary    = "Instance `${var.database_instance_name}` (or one of its replicas) has held more than 80% of its ${var.database_max_connections} connections for 5 minutes."
      conditions = [{
        display_name     = "Backends > ${floor(var.database_max_connections * 0.8)} for 5 min"
        filter           = "${local.cloudsql_filter} AND metric.type=\"cloudsql.googleapis.com/database/postgresql/num_backends\""
        threshold        = floor(var.database_max_connections * 0.8)
        duration         = "300s"
        alignment_period = "60s"
        aligner          = "ALIGN_MEAN"
        reducer          = "REDUCE_SUM"
        group_by         = ["resource.label.database_id"]
      }]
    }
    cloudsql_cpu = {
      title      = "Cloud SQL CPU above 80%"
      severity   = "WARNING"
      runbook    = "cloudsql-cpu"
      auto_close = "1800s"
      subject    = "AIPROD Cloud SQL CPU above 80%"
      summary    = "Instance `${var.database_instance_name}` (or one of its replicas) has used more than 80% CPU for 10 minutes."
      conditions = [{
        display_name     = "CPU utilization > 80% for 10 min"
        filter           = "${local.cloudsql_filter} AND metric.type=\"cloudsql.googleapis.com/database/cpu/utilization\""
        threshold        = 0.8
        duration         = "600s"
        alignment_period = "60s"
        aligner          = "ALIGN_MEAN"
      }]
    }
    cloudsql_memory = {
      title      = "Cloud SQL memory above 90%"
      severity   = "WARNING"
      runbook    = "cloudsql-memory"
      auto_close = "1800s"
      subject    = "AIPROD Cloud SQL memory above 90%"
      summary    = "Instance `${var.database_instance_name}` (or one of its replicas) has used more than 90% of its memory for 10 minutes."
      conditions = [{
        display_name     = "Memory utilization > 90% for 10 min"
        filter           = "${local.cloudsql_filter} AND metric.type=\"cloudsql.googleapis.com/database/memory/utilization\""
        threshold        = 0.9
        duration         = "600s"
        alignment_period = "60s"
        aligner          = "ALIGN_MEAN"
      }]
    }
    function_crash = {
      title      = "function crashed"
      severity   = "ERROR"
      runbook    = "function-crash"
      auto_close = "3600s"
      subject    = "AIPROD function crash"
      summary    = "A function instance crashed (log-based metric `${google_logging_metric.this["function_crash"].name}`; the `function` label names it)."
      conditions = [{
        display_name     = "Crash logged by a function"
        filter           = "resource.type=\"cloud_run_revision\" AND metric.type=\"${local.log_metric_types.function_crash}\""
        threshold        = 0
        duration         = "0s"
        alignment_period = "300s"
        aligner          = "ALIGN_SUM"
        reducer          = "REDUCE_SUM"
        group_by         = ["metric.label.function"]
      }]
    }
    function_oom = {
      title      = "function out of memory"
      severity   = "ERROR"
      runbook    = "function-out-of-memory"
      auto_close = "3600s"
      subject    = "AIPROD function out of memory"
      summary    = "A function instance exceeded its memory limit and was killed (log-based metric `${google_logging_metric.this["function_oom"].name}`)."
      conditions = [{
        display_name     = "Instance killed for exceeding its memory limit"
        filter           = "resource.type=\"cloud_run_revision\" AND metric.type=\"${local.log_metric_types.function_oom}\""
        threshold        = 0
        duration         = "0s"
        alignment_period = "300s"
        aligner          = "ALIGN_SUM"
        reducer          = "REDUCE_SUM"
        group_by         = ["metric.label.function"]
      }]
    }
    dead_letter = {
      title      = "message in a dead-letter topic"
      severity   = "ERROR"
      runbook    = "dead-letter-messages"
      auto_close = "3600s"
      subject    = "AIPROD message dead-lettered"
      summary    = "A message exhausted its delivery attempts and sits in a dead-letter subscription (<topic>-dead-letter-sub). The job, notification or rotation it carried did not happen."
      conditions = [{
        display_name     = "Undelivered messages in a dead-letter subscription"
        filter           = "resource.type=\"pubsub_subscription\" AND resource.label.subscription_id=one_of(${join(", ", [for s in sort(var.dead_letter_subscriptions) : "\"${s}\""])}) AND metric.type=\"pubsub.googleapis.com/subscription/num_undelivered_messages\""
        threshold        = 0
        duration         = "0s"
        alignment_period = "60s"
        aligner          = "ALIGN_MAX"
      }]
    }
    pubsub_backlog = {
      title      = "oldest unacked message too old"
      severity   = "ERROR"
      runbook    = "pubsub-backlog"
      auto_close = "1800s"
      subject    = "AIPROD Pub/Sub backlog"
      summary    = "The oldest unacknowledged message of a push subscription is older than ${var.oldest_unacked_threshold_seconds} s (or than the subscription's ack deadline, when longer). Deliveries are failing or the function cannot keep up."
      conditions = [for threshold, subscriptions in local.backlog_groups : {
        display_name     = "Oldest unacked > ${threshold} s (${join(", ", subscriptions)})"
        filter           = "resource.type=\"pubsub_subscription\" AND resource.label.subscription_id=one_of(${join(", ", [for sub in subscriptions : "\"${sub}\""])}) AND metric.type=\"pubsub.googleapis.com/subscription/oldest_unacked_message_age\""
        threshold        = tonumber(threshold)
        duration         = "120s"
        alignment_period = "60s"
        aligner          = "ALIGN_MAX"
      }]
    }
    backup_failure = {
      title      = "Cloud SQL backup failed"
      severity   = "CRITICAL"
      runbook    = "backup-failure"
      auto_close = "86400s"
      subject    = "AIPROD Cloud SQL backup failed"
      summary    = "The automated backup of `${var.database_instance_name}` failed or overran its window: the recovery point objective is at risk until a backup succeeds."
      conditions = [{
        display_name     = "Automated backup failed or overdue"
        filter           = "resource.type=\"cloudsql_database\" AND metric.type=\"${local.log_metric_types.backup_failed}\""
        threshold        = 0
        duration         = "0s"
        alignment_period = "300s"
        aligner          = "ALIGN_SUM"
      }]
    }
    job_failures = {
      title      = "failed jobs above ${var.job_failures_threshold} in 15 min"
      severity   = "ERROR"
      runbook    = "job-failures"
      auto_close = "3600s"
      subject    = "AIPROD failed jobs spike"
      summary    = "More than ${var.job_failures_threshold} jobs ended FAILED in 15 minutes (`job.failed`)."
      conditions = [{
        display_name     = "job.failed > ${var.job_failures_threshold} in 15 min"
        filter           = "resource.type=\"cloud_run_revision\" AND metric.type=\"${local.log_metric_types.job_failed}\""
        threshold        = var.job_failures_threshold
        duration         = "0s"
        alignment_period = "900s"
        aligner          = "ALIGN_SUM"
        reducer          = "REDUCE_SUM"
      }]
    }
    webhook_disabled = {
      title      = "webhook disabled"
      severity   = "WARNING"
      runbook    = "webhook-disabled"
      auto_close = "3600s"
      subject    = "AIPROD webhook disabled"
      summary    = "A partner's webhook was disabled by the delivery path (`webhook.disabled`, metric `${google_logging_metric.this["webhook_disabled"].name}`): its receiver answered 410 Gone, or AIPROD_WEBHOOK_DISABLE_AFTER deliveries in a row failed. The partner gets no more events until it is enabled again. Several at once point at our egress, not at the partners."
      conditions = [{
        display_name     = "webhook.disabled logged"
        filter           = "resource.type=\"cloud_run_revision\" AND metric.type=\"${local.log_metric_types.webhook_disabled}\""
        threshold        = 0
        duration         = "0s"
        alignment_period = "300s"
        aligner          = "ALIGN_SUM"
        reducer          = "REDUCE_SUM"
      }]
    }
    secret_rotation_failed = {
      title      = "secret rotation failed"
      severity   = "ERROR"
      runbook    = "secret-rotation"
      auto_close = "86400s"
      subject    = "AIPROD secret rotation failed"
      summary    = "A step of a secret rotation failed (`secret.rotation_failed`, metric `${google_logging_metric.this["secret_rotation_failed"].name}`; the log entry names the secret and the step). The rotation was rolled back to the credentials in use before it, or, past its own steps, left pending for the next tick; `rolledBack: false` without `pending` means the rollback itself failed and Pub/Sub retries it. The table secret_rotations holds every step."
      conditions = [{
        display_name     = "secret.rotation_failed logged"
        filter           = "resource.type=\"cloud_run_revision\" AND metric.type=\"${local.log_metric_types.secret_rotation_failed}\""
        threshold        = 0
        duration         = "0s"
        alignment_period = "300s"
        aligner          = "ALIGN_SUM"
        reducer          = "REDUCE_SUM"
      }]
    }
    alert_not_posted = {
      title      = "alert not posted to Slack"
      severity   = "ERROR"
      runbook    = "alert-notifier"
      auto_close = "3600s"
      subject    = "AIPROD alerts are not reaching Slack"
      summary    = "alert-notifier could not post an incident to Slack for good (`alert.not_posted`, metric `${google_logging_metric.this["alert_not_posted"].name}`): Slack refused it (a revoked or mistyped webhook URL, an archived channel), `slack-webhook-url` has no usable value, or a message on `monitoring-alerts` was not an incident. Alerts still reach the email channels; Slack stays silent until this is fixed."
      conditions = [{
        display_name     = "alert.not_posted logged"
        filter           = "resource.type=\"cloud_run_revision\" AND metric.type=\"${local.log_metric_types.alert_not_posted}\""
        threshold        = 0
        duration         = "0s"
        alignment_period = "300s"
        aligner          = "ALIGN_SUM"
        reducer          = "REDUCE_SUM"
      }]
    }
  }

  # The optional fields of a condition, so that every condition has the same attributes.
  condition_defaults = {
    denominator_filter = null
    reducer            = null
    group_by           = null
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

# Incidents are published to monitoring-alerts too, where alert-notifier (its push subscription
# comes with the function, from the manifest) posts them to the Slack webhook in the
# slack-webhook-url secret, a resolution in its opening's thread.
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
# Alert policies (local.alert_policies). Every policy notifies every channel and links its runbook.
# ---------------------------------------------------------------------------------------------

resource "google_monitoring_alert_policy" "this" {
  for_each = local.alert_policies

  project               = var.project_id
  display_name          = "${var.name_prefix}: ${each.value.title}"
  combiner              = "OR"
  severity              = each.value.severity
  notification_channels = local.channels
  user_labels           = merge(var.labels, { runbook = each.value.runbook })

  dynamic "conditions" {
    for_each = [for c in each.value.conditions : merge(local.condition_defaults, c)]
    content {
      display_name = conditions.value.display_name
      condition_threshold {
        filter             = conditions.value.filter
        denominator_filter = conditions.value.denominator_filter
        comparison         = "COMPARISON_GT"
        threshold_value    = conditions.value.threshold
        duration           = conditions.value.duration
        aggregations {
          alignment_period     = conditions.value.alignment_period
          per_series_aligner   = conditions.value.aligner
          cross_series_reducer = conditions.value.reducer
          group_by_fields      = conditions.value.group_by
        }
        # A ratio aggregates its denominator the same way as its numerator.
        dynamic "denominator_aggregations" {
          for_each = conditions.value.denominator_filter == null ? [] : [conditions.value]
          content {
            alignment_period     = denominator_aggregations.value.alignment_period
            per_series_aligner   = denominator_aggregations.value.aligner
            cross_series_reducer = denominator_aggregations.value.reducer
            group_by_fields      = denominator_aggregations.value.group_by
          }
        }
        trigger {
          count = 1
        }
      }
    }
  }

  lifecycle {
    precondition {
      condition     = length(each.value.conditions) <= 6
      error_message = "An alert policy holds at most 6 conditions; pubsub_backlog has one per distinct backlog threshold."
    }
  }

  alert_strategy {
    auto_close = each.value.auto_close
  }

  documentation {
    mime_type = "text/markdown"
    subject   = each.value.subject
    content   = "${each.value.summary}\n\nRunbook: ${local.runbooks}/${each.value.runbook}.md\n"

    # A link needs an absolute URL. Notifications carry it (alert-notifier links it from Slack).
    dynamic "links" {
      for_each = var.runbook_base_url == "" ? [] : [each.value.runbook]
      content {
        display_name = "Runbook"
        url          = "${local.runbooks}/${links.value}.md"
      }
    }
  }
}

# The policies were one resource each before they were folded into local.alert_policies.
moved {
  from = google_monitoring_alert_policy.api_5xx_ratio
  to   = google_monitoring_alert_policy.this["api_5xx_ratio"]
}

moved {
  from = google_monitoring_alert_policy.api_latency_p95
  to   = google_monitoring_alert_policy.this["api_latency_p95"]
}

moved {
  from = google_monitoring_alert_policy.cloudsql_connections
  to   = google_monitoring_alert_policy.this["cloudsql_connections"]
}

moved {
  from = google_monitoring_alert_policy.cloudsql_cpu
  to   = google_monitoring_alert_policy.this["cloudsql_cpu"]
}

moved {
  from = google_monitoring_alert_policy.cloudsql_memory
  to   = google_monitoring_alert_policy.this["cloudsql_memory"]
}

moved {
  from = google_monitoring_alert_policy.function_crash
  to   = google_monitoring_alert_policy.this["function_crash"]
}

moved {
  from = google_monitoring_alert_policy.function_oom
  to   = google_monitoring_alert_policy.this["function_oom"]
}

moved {
  from = google_monitoring_alert_policy.dead_letter
  to   = google_monitoring_alert_policy.this["dead_letter"]
}

moved {
  from = google_monitoring_alert_policy.pubsub_backlog
  to   = google_monitoring_alert_policy.this["pubsub_backlog"]
}

moved {
  from = google_monitoring_alert_policy.backup_failure
  to   = google_monitoring_alert_policy.this["backup_failure"]
}

moved {
  from = google_monitoring_alert_policy.job_failures
  to   = google_monitoring_alert_policy.this["job_failures"]
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
