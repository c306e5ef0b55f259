output "instance_name" {
  description = "Primary instance name."
  value       = google_sql_database_instance.primary.name
}

output "connection_name" {
  description = "Primary connection name (<project>:<region>:<instance>)."
  value       = google_sql_database_instance.primary.connection_name
}

output "private_ip" {
  description = "Primary private IP."
  value       = local.primary_ip
}

output "replica_names" {
  description = "Read replica instance names."
  value       = google_sql_database_instance.replica[*].name
}

output "replica_private_ips" {
  description = "Read replica private IPs."
  value       = google_sql_database_instance.replica[*].private_ip_address
}

output "database_name" {
  description = "Application database."
  value       = google_sql_database.app.name
}

output "user_name" {
  description = "Application user."
  value       = google_sql_user.app.name
}

output "password" {
  description = "Initial application password. Not stored on its own: it is inside database_url (the database-url secret). Unused by the root module."
  value       = random_password.app.result
  sensitive   = true
}

output "database_url" {
  description = "postgres:// URL of the primary (stored in Secret Manager as database-url)."
  value       = format(local.url_template, google_sql_user.app.name, random_password.app.result, local.primary_ip, google_sql_database.app.name)
  sensitive   = true
}

output "database_replica_url" {
  description = "postgres:// URL of the first read replica, or of the primary when there is none (stored in Secret Manager as database-replica-url)."
  value       = format(local.url_template, google_sql_user.app.name, random_password.app.result, local.read_ip, google_sql_database.app.name)
  sensitive   = true
}
