output "instance_name" {
  description = "Instance name."
  value       = google_redis_instance.this.name
}

output "host" {
  description = "Private IP of the primary endpoint."
  value       = google_redis_instance.this.host
}

output "port" {
  description = "TLS port of the primary endpoint."
  value       = google_redis_instance.this.port
}

output "url" {
  description = "rediss:// URL without credentials (REDIS_URL); the AUTH string is a separate secret."
  value       = "rediss://${google_redis_instance.this.host}:${google_redis_instance.this.port}"
}

output "auth_string" {
  description = "AUTH string (stored in Secret Manager as redis-auth)."
  value       = google_redis_instance.this.auth_string
  sensitive   = true
}

output "server_ca_cert" {
  description = "PEM of the CA that signs the instance's TLS certificate (REDIS_CA_CERT); clients verify the server against it."
  value       = try(google_redis_instance.this.server_ca_certs[0].cert, "")
}
