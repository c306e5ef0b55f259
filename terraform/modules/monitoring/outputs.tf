output "notification_channel_ids" {
  description = "Every notification channel the alert policies notify."
  value       = local.channels
}

output "alert_policy_names" {
  description = "Alert policy resource names, by policy (the keys of local.alert_policies)."
  value       = { for k, p in google_monitoring_alert_policy.this : k => p.name }
}

output "log_metric_names" {
  description = "Log-based metric names, by purpose."
  value       = { for k, m in google_logging_metric.this : k => m.name }
}

output "dashboard_ids" {
  description = "Dashboard ids, by dashboard."
  value       = { for k, d in google_monitoring_dashboard.this : k => d.id }
}
