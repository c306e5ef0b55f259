locals {
  prefix = "${var.project_id}-${var.name_prefix}"
}

resource "google_storage_bucket" "uploads" {
  project                     = var.project_id
  name                        = "${local.prefix}-uploads"
  location                    = var.region
  storage_class               = "STANDARD"
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = false
  labels                      = merge(var.labels, { data = "uploads" })

  encryption {
    default_kms_key_name = var.kms_key_id
  }

  lifecycle_rule {
    condition {
      age = var.uploads_retention_days
    }
    action {
      type = "Delete"
    }
  }

  # Signed-URL uploads that never finish leave parts behind.
  lifecycle_rule {
    condition {
      age = 1
    }
    action {
      type = "AbortIncompleteMultipartUpload"
    }
  }

  # Browsers PUT to the signed upload URLs (POST /uploads): the preflight must allow every
  # header such a URL signs, x-goog-content-length-range (the size) and x-goog-if-generation-match
  # (write once) among them.
  dynamic "cors" {
    for_each = length(var.cors_origins) > 0 ? [1] : []
    content {
      origin          = var.cors_origins
      method          = ["PUT", "GET", "HEAD"]
      response_header = ["Content-Type", "Content-Length", "x-goog-content-length-range", "x-goog-if-generation-match"]
      max_age_seconds = 3600
    }
  }
}

resource "google_storage_bucket" "outputs" {
  project                     = var.project_id
  name                        = "${local.prefix}-outputs"
  location                    = var.region
  storage_class               = "STANDARD"
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = false
  labels                      = merge(var.labels, { data = "outputs" })

  encryption {
    default_kms_key_name = var.kms_key_id
  }

  lifecycle_rule {
    condition {
      age = var.outputs_retention_days
    }
    action {
      type = "Delete"
    }
  }
}

# Function source archives: functions/<name>/<version>.zip, written by Cloud Build. Versioning
# keeps an overwritten archive recoverable; rollbacks normally point at an older object name.
resource "google_storage_bucket" "sources" {
  project                     = var.project_id
  name                        = "${local.prefix}-function-sources"
  location                    = var.region
  storage_class               = "STANDARD"
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = false
  labels                      = merge(var.labels, { data = "function-sources" })

  encryption {
    default_kms_key_name = var.kms_key_id
  }

  versioning {
    enabled = true
  }

  lifecycle_rule {
    condition {
      num_newer_versions = var.sources_retention_versions
      with_state         = "ARCHIVED"
    }
    action {
      type = "Delete"
    }
  }
}

# Cloud Storage checks, when a notification is created, that its service agent may publish to
# the topic: this grant must exist first.
resource "google_pubsub_topic_iam_member" "storage_publisher" {
  project = var.project_id
  topic   = var.upload_finalized_topic_id
  role    = "roles/pubsub.publisher"
  member  = "serviceAccount:${var.storage_service_agent}"
}

# Every upload whose object is complete (a signed PUT finished) is announced on upload-finalized,
# where the upload-inspector records how long its video lasts. JSON_API_V1: the object resource
# comes with the notice.
resource "google_storage_notification" "uploads_finalized" {
  bucket         = google_storage_bucket.uploads.name
  topic          = var.upload_finalized_topic_id
  payload_format = "JSON_API_V1"
  event_types    = ["OBJECT_FINALIZE"]

  depends_on = [google_pubsub_topic_iam_member.storage_publisher]
}
