output "maintenance_job_name" {
  description = "Cloud Scheduler job that ticks the sweeper."
  value       = google_cloud_scheduler_job.maintenance.name
}
