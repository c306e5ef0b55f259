output "keyring_id" {
  description = "Keyring id."
  value       = google_kms_key_ring.this.id
}

# The key outputs wait for the service agent grants: a Cloud SQL instance, Redis instance,
# bucket or secret created with a key its service agent cannot use fails at creation.
output "database_key_id" {
  description = "Key for Cloud SQL."
  value       = google_kms_crypto_key.this["database"].id
  depends_on  = [google_kms_crypto_key_iam_member.service_agent]
}

output "cache_key_id" {
  description = "Key for Memorystore."
  value       = google_kms_crypto_key.this["cache"].id
  depends_on  = [google_kms_crypto_key_iam_member.service_agent]
}

output "storage_key_id" {
  description = "Key for Cloud Storage buckets."
  value       = google_kms_crypto_key.this["storage"].id
  depends_on  = [google_kms_crypto_key_iam_member.service_agent]
}

output "secrets_key_id" {
  description = "Key for Secret Manager."
  value       = google_kms_crypto_key.this["secrets"].id
  depends_on  = [google_kms_crypto_key_iam_member.service_agent]
}

output "app_key_id" {
  description = "Application envelope encryption key; the functions module grants it to functions whose access sets kms."
  value       = google_kms_crypto_key.this["app"].id
}

output "key_ids" {
  description = "Every key id, by purpose."
  value       = { for k, v in google_kms_crypto_key.this : k => v.id }
}
