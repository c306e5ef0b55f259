output "load_balancer_ip" {
  description = "Point the A records of var.domains here."
  value       = module.edge.ip_address
}

output "api_base_url" {
  description = "Public base URL of the API."
  value       = module.edge.base_url
}

output "functions" {
  description = "Deployed functions and their run.app URIs (reachable only through the load balancer or from inside the project)."
  value       = module.functions.uris
}

output "routes" {
  description = "Load balancer routes, in priority order."
  value       = [for r in module.manifest.routes : "${r.priority}: ${r.pattern} -> ${r.function}"]
}

output "function_service_accounts" {
  description = "Runtime service account of every function."
  value       = module.functions.service_accounts
}

output "sources_bucket" {
  description = "Bucket Cloud Build uploads function archives to."
  value       = module.storage.sources_bucket
}

output "uploads_bucket" {
  description = "Uploads bucket."
  value       = module.storage.uploads_bucket
}

output "outputs_bucket" {
  description = "Outputs bucket."
  value       = module.storage.outputs_bucket
}

output "database_instance" {
  description = "Cloud SQL primary instance."
  value       = module.database.instance_name
}

output "database_replicas" {
  description = "Cloud SQL read replicas."
  value       = module.database.replica_names
}

output "redis_instance" {
  description = "Memorystore instance."
  value       = module.cache.instance_name
}

output "push_subscriptions" {
  description = "Push subscription of every event function."
  value       = module.messaging.push_subscription_names
}

output "security_policy" {
  description = "Cloud Armor policy on every backend."
  value       = module.edge.security_policy_name
}

output "app_kms_key" {
  description = "Application envelope key (AIPROD_KMS_KEY), granted to the functions whose manifest access sets kms."
  value       = module.kms.app_key_id
}

output "alert_policies" {
  description = "Alert policies, by purpose."
  value       = module.monitoring.alert_policy_names
}
