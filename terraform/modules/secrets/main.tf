locals {
  rotating = { for id, s in var.secrets : id => s if s.rotate }
}

# Secret Manager checks, when a secret with `topics` is created, that its service agent may
# publish there: this grant must exist first.
resource "google_pubsub_topic_iam_member" "secret_manager_publisher" {
  project = var.project_id
  topic   = var.rotation_topic_id
  role    = "roles/pubsub.publisher"
  member  = "serviceAccount:${var.secret_manager_agent}"
}

resource "google_secret_manager_secret" "this" {
  for_each = var.secrets

  project   = var.project_id
  secret_id = each.key
  labels    = merge(var.labels, { rotates = each.value.rotate ? "yes" : "no" })
  annotations = {
    description = each.value.description
  }

  replication {
    user_managed {
      replicas {
        location = var.region
        customer_managed_encryption {
          kms_key_name = var.kms_key_id
        }
      }
    }
  }

  dynamic "rotation" {
    for_each = each.value.rotate ? [1] : []
    content {
      rotation_period = var.rotation_period
      # First notice one period after creation; Secret Manager moves it forward itself after
      # each notice, so Terraform must not pull it back.
      next_rotation_time = timeadd(plantimestamp(), "${tonumber(trimsuffix(var.rotation_period, "s"))}s")
    }
  }

  dynamic "topics" {
    for_each = each.value.rotate ? [var.rotation_topic_id] : []
    content {
      name = topics.value
    }
  }

  lifecycle {
    ignore_changes = [rotation[0].next_rotation_time]
  }

  depends_on = [google_pubsub_topic_iam_member.secret_manager_publisher]
}

# First version only: later versions (a new database password inside database-url, added by ops
# today) must not be overwritten with the initial value.
resource "google_secret_manager_secret_version" "seeded" {
  for_each = toset(var.seeded_secret_ids)

  secret      = google_secret_manager_secret.this[each.key].id
  secret_data = var.seeded_values[each.key]

  lifecycle {
    ignore_changes = [secret_data, enabled]
  }
}

resource "google_secret_manager_secret_version" "managed" {
  for_each = toset(var.managed_secret_ids)

  secret      = google_secret_manager_secret.this[each.key].id
  secret_data = var.managed_values[each.key]
}

# Quarterly rotate order on the rotation topic, on top of Secret Manager's own per-secret
# notices; the secret-rotator rotates what is due (a duplicate or late tick finds nothing due).
resource "google_cloud_scheduler_job" "rotation" {
  project     = var.project_id
  region      = var.region
  name        = "${var.name_prefix}-secret-rotation"
  description = "Quarterly rotate order on the secret-rotation topic: the secret-rotator rotates what is due."
  schedule    = var.rotation_schedule
  time_zone   = var.time_zone

  pubsub_target {
    topic_name = var.rotation_topic_id
    data       = base64encode(jsonencode({ action = "rotate" }))
  }
}

# A rotation leaves its last step (disabling the previous versions once the grace period is over,
# the rest of a re-encryption) for a later message: this one, which rotates nothing.
resource "google_cloud_scheduler_job" "rotation_finish" {
  project     = var.project_id
  region      = var.region
  name        = "${var.name_prefix}-secret-rotation-finish"
  description = "Hourly finish order on the secret-rotation topic: the steps rotations left for later."
  schedule    = var.rotation_finish_schedule
  time_zone   = var.time_zone

  pubsub_target {
    topic_name = var.rotation_topic_id
    data       = base64encode(jsonencode({ action = "finish" }))
  }
}
