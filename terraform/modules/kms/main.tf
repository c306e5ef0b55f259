locals {
  # One key per kind of data, so a compromise or a revocation stays contained to that data.
  keys = {
    database = "Cloud SQL disks, replicas and backups"
    cache    = "Memorystore for Redis data at rest"
    storage  = "Cloud Storage buckets (uploads, outputs, function sources)"
    secrets  = "Secret Manager payloads"
    app      = "Application envelope encryption: wraps the data keys of sealed columns (functions whose access sets kms)"
  }

  agent_grants = {
    database = var.service_agents.database
    cache    = var.service_agents.cache
    storage  = var.service_agents.storage
    secrets  = var.service_agents.secrets
  }
}

resource "google_kms_key_ring" "this" {
  project  = var.project_id
  name     = "${var.name_prefix}-keyring"
  location = var.region
}

resource "google_kms_crypto_key" "this" {
  for_each = local.keys

  name            = "${var.name_prefix}-${each.key}"
  key_ring        = google_kms_key_ring.this.id
  purpose         = "ENCRYPT_DECRYPT"
  rotation_period = var.rotation_period
  labels          = merge(var.labels, { purpose = each.key })

  version_template {
    algorithm        = "GOOGLE_SYMMETRIC_ENCRYPTION"
    protection_level = var.protection_level
  }

  # Destroying a key makes everything it encrypted unreadable, backups included.
  lifecycle {
    prevent_destroy = true
  }
}

resource "google_kms_crypto_key_iam_member" "service_agent" {
  for_each = local.agent_grants

  crypto_key_id = google_kms_crypto_key.this[each.key].id
  role          = "roles/cloudkms.cryptoKeyEncrypterDecrypter"
  member        = "serviceAccount:${each.value}"
}
