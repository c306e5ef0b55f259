output "uploads_bucket" {
  description = "Bucket for partner uploads (AIPROD_UPLOADS_BUCKET)."
  value       = google_storage_bucket.uploads.name
}

output "outputs_bucket" {
  description = "Bucket for finished outputs (AIPROD_OUTPUTS_BUCKET)."
  value       = google_storage_bucket.outputs.name
}

output "sources_bucket" {
  description = "Bucket Cloud Build uploads function archives to (functions/<name>/<version>.zip)."
  value       = google_storage_bucket.sources.name
}
