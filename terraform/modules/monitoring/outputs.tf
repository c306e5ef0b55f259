output "notification_channel_ids" {
  description = "Every notification channel the alert policies notify."
  value       = local.channels
}

output "alert_policy_names" {
  description = "Alert policy resource names, by policy."
  value = {
    api_5xx_ratio           = google_monitoring_alert_policy.api_5xx_ratio.name
    api_latency_p95         = google_monitoring_alert_policy.api_latency_p95.name
    cloudsql_connections    = google_monitoring_alert_policy.cloudsql_connections.name
    cloudsql_cpu            = google_monitoring_alert_policy.cloudsql_cpu.name
    cloudsql_memory         = google_monitoring_alert_policy.cloudsql_memory.name
    function_crash          = google_monitoring_alert_policy.function_crash.name
    function_oom            = google_monitoring_alert_policy.function_oom.name
    dead_letter             = google_monitoring_alert_policy.dead_letter.name
    pubsub_backlog          = google_monitoring_alert_policy.pubsub_backlog.name
    backup_failure          = google_monitoring_alert_policy.backup_failure.name
    secret_rotation_failure = google_monitoring_alert_policy.secret_rotation_failure.name
    webhook_auto_disabled   = google_monitoring_alert_policy.webhook_auto_disabled.name
    job_failures            = google_monitoring_alert_policy.job_failures.name
  }
}

output "log_metric_names" {
  description = "Log-based metric names, by purpose."
  value       = { for k, m in google_logging_metric.this : k => m.name }
}

output "dashboard_ids" {
  description = "Dashboard ids, by dashboard."
  value       = { for k, d in google_monitoring_dashboard.this : k => d.id }
}
