locals {
  instance_name = coalesce(var.instance_name, "${var.name_prefix}-postgres")
}

# Alphanumeric only: the password goes verbatim into a postgres:// URL.
resource "random_password" "app" {
  length  = 40
  special = false
}

resource "google_sql_database_instance" "primary" {
  project             = var.project_id
  name                = local.instance_name
  region              = var.region
  database_version    = "POSTGRES_15"
  encryption_key_name = var.kms_key_id
  deletion_protection = var.deletion_protection

  settings {
    tier                        = var.tier
    edition                     = "ENTERPRISE"
    availability_type           = "REGIONAL"
    disk_type                   = "PD_SSD"
    disk_size                   = var.disk_size_gb
    disk_autoresize             = true
    deletion_protection_enabled = var.deletion_protection
    user_labels                 = var.labels

    ip_configuration {
      ipv4_enabled                                  = false
      private_network                               = var.network_id
      ssl_mode                                      = "ENCRYPTED_ONLY"
      enable_private_path_for_google_cloud_services = true
    }

    backup_configuration {
      enabled                        = true
      start_time                     = var.backup_start_time
      location                       = var.backup_location
      point_in_time_recovery_enabled = true
      transaction_log_retention_days = var.pitr_days

      backup_retention_settings {
        retained_backups = var.retained_backups
        retention_unit   = "COUNT"
      }
    }

    insights_config {
      query_insights_enabled  = true
      query_plans_per_minute  = 5
      query_string_length     = 1024
      record_application_tags = true
      record_client_address   = false
    }

    maintenance_window {
      day          = var.maintenance_day
      hour         = var.maintenance_hour
      update_track = "stable"
    }

    database_flags {
      name  = "max_connections"
      value = tostring(var.max_connections)
    }

    # Statements slower than 1 s land in the logs; Query Insights keeps the plans.
    database_flags {
      name  = "log_min_duration_statement"
      value = "1000"
    }

    database_flags {
      name  = "log_lock_waits"
      value = "on"
    }
  }
}

resource "google_sql_database_instance" "replica" {
  count = var.read_replica_count

  project              = var.project_id
  name                 = "${local.instance_name}-replica-${count.index + 1}"
  region               = var.region
  database_version     = "POSTGRES_15"
  master_instance_name = google_sql_database_instance.primary.name
  encryption_key_name  = var.kms_key_id
  deletion_protection  = var.deletion_protection

  settings {
    tier                        = coalesce(var.replica_tier, var.tier)
    edition                     = "ENTERPRISE"
    availability_type           = "ZONAL"
    disk_type                   = "PD_SSD"
    disk_autoresize             = true
    deletion_protection_enabled = var.deletion_protection
    user_labels                 = merge(var.labels, { role = "read-replica" })

    ip_configuration {
      ipv4_enabled                                  = false
      private_network                               = var.network_id
      ssl_mode                                      = "ENCRYPTED_ONLY"
      enable_private_path_for_google_cloud_services = true
    }

    insights_config {
      query_insights_enabled  = true
      query_plans_per_minute  = 5
      query_string_length     = 1024
      record_application_tags = true
      record_client_address   = false
    }

    database_flags {
      name  = "max_connections"
      value = tostring(var.max_connections)
    }
  }
}

resource "google_sql_database" "app" {
  project  = var.project_id
  instance = google_sql_database_instance.primary.name
  name     = var.database_name
  # Dropping the database from Terraform would take the data with it.
  deletion_policy = "ABANDON"
}

resource "google_sql_user" "app" {
  project  = var.project_id
  instance = google_sql_database_instance.primary.name
  name     = var.user_name
  password = random_password.app.result
  # Terraform only sets the first password; one changed later (by hand today, in PostgreSQL and
  # in the database-url secret) is not reverted.
  deletion_policy = "ABANDON"

  lifecycle {
    ignore_changes = [password]
  }
}

locals {
  primary_ip = google_sql_database_instance.primary.private_ip_address
  read_ip    = var.read_replica_count > 0 ? google_sql_database_instance.replica[0].private_ip_address : local.primary_ip

  # The server refuses unencrypted connections (ssl_mode ENCRYPTED_ONLY). node-postgres treats
  # sslmode=require as verify-full, and Cloud SQL server certificates do not name the private
  # IP, so the URL asks for encryption without hostname verification; the peering keeps the
  # path private.
  url_template = "postgres://%s:%s@%s:5432/%s?sslmode=no-verify"
}
