resource "google_redis_instance" "this" {
  project        = var.project_id
  name           = "${var.name_prefix}-redis"
  display_name   = "${var.name_prefix} rate limits and cache"
  region         = var.region
  tier           = "STANDARD_HA"
  memory_size_gb = var.memory_size_gb
  redis_version  = var.redis_version
  labels         = var.labels

  connect_mode       = "PRIVATE_SERVICE_ACCESS"
  authorized_network = var.network_id
  reserved_ip_range  = var.reserved_ip_range

  auth_enabled            = true
  transit_encryption_mode = "SERVER_AUTHENTICATION"
  customer_managed_key    = var.kms_key_id

  # Rate-limit counters are the main tenant; evicting the least recently used key is safer
  # than refusing writes when memory fills.
  redis_configs = {
    "maxmemory-policy" = "volatile-lru"
  }

  maintenance_policy {
    weekly_maintenance_window {
      day = var.maintenance_day
      start_time {
        hours   = var.maintenance_hour
        minutes = 0
        seconds = 0
        nanos   = 0
      }
    }
  }
}
