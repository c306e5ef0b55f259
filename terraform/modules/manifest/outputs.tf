output "functions" {
  description = "Every manifest function, normalised: name, kind, entry_point, memory, cpu, timeout_seconds, max/min instances, concurrency, ingress, secrets, secret_env (ENV_VAR => secret id), access, and the http or event settings."
  value       = local.functions
}

output "http_functions" {
  description = "The http subset of functions, keyed by name."
  value       = local.http_functions
}

output "event_functions" {
  description = "The event subset of functions, keyed by name."
  value       = local.event_functions
}

output "routes" {
  description = "Load balancer route rules in priority order: function, path, match (full_path_match or path_template_match), pattern, priority."
  value       = local.routes
}

output "http_methods" {
  description = "Distinct HTTP methods the manifest serves, for the Cloud Armor method allowlist."
  value       = sort(distinct([for f in local.http_functions : f.method]))
}

output "secret_ids" {
  description = "Every Secret Manager secret id a manifest function reads."
  value       = local.secret_ids
}

output "topics" {
  description = "The platform's Pub/Sub topics, as the declaration lists them."
  value       = local.topics
}

output "secrets" {
  description = "Every Secret Manager secret of the declaration: id => {description, rotate}."
  value       = local.secrets
}
