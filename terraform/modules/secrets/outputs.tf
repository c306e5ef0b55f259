output "secret_ids" {
  description = "Secret resource ids (projects/<p>/secrets/<id>), by secret id."
  value       = { for id, s in google_secret_manager_secret.this : id => s.id }
}

# Functions read secrets as "latest": they must not be deployed before the versions Terraform
# writes exist.
output "secret_names" {
  description = "Secret ids, available once Terraform-written versions exist."
  value       = keys(google_secret_manager_secret.this)
  depends_on = [
    google_secret_manager_secret_version.seeded,
    google_secret_manager_secret_version.managed,
  ]
}

output "rotating_secret_ids" {
  description = "Ids of the secrets on a rotation schedule."
  value       = sort(keys(local.rotating))
}

output "rotation_job_name" {
  description = "Cloud Scheduler job that orders the quarterly rotation."
  value       = google_cloud_scheduler_job.rotation.name
}
