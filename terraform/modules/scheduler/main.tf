# Ticks are idempotent (the sweeper re-reads the database each time), so a missed or doubled
# tick is harmless; no retries, or retries would pile up behind the next tick.
resource "google_cloud_scheduler_job" "maintenance" {
  project     = var.project_id
  region      = var.region
  name        = "${var.name_prefix}-maintenance-tick"
  description = "Wakes the sweeper: requeue expired leases, republish the outbox, purge expired results."
  schedule    = var.maintenance_schedule
  time_zone   = var.time_zone

  retry_config {
    retry_count = 0
  }

  pubsub_target {
    topic_name = var.maintenance_topic_id
    data       = base64encode(jsonencode({ action = "sweep" }))
    attributes = {
      origin = "cloud-scheduler"
    }
  }
}
