variable "project_id" {
  description = "Project that holds the instance."
  type        = string
}

variable "region" {
  description = "Region of the instance (the KMS key must be in this region too)."
  type        = string
}

variable "name_prefix" {
  description = "Prefix of the instance name: <prefix>-redis."
  type        = string
}

variable "network_id" {
  description = "VPC id whose private service access peering the instance joins. Pass it only once the peering exists."
  type        = string
}

variable "reserved_ip_range" {
  description = "Name of the private service access allocated range the instance takes its addresses from."
  type        = string
}

variable "kms_key_id" {
  description = "CMEK for data at rest. The Memorystore service agent must already hold encrypter/decrypter on it."
  type        = string
}

variable "memory_size_gb" {
  description = "Instance capacity. Rate-limit counters and idempotency keys are small; 1 GB is plenty to start."
  type        = number
  default     = 1

  validation {
    condition     = var.memory_size_gb >= 1 && var.memory_size_gb <= 300
    error_message = "memory_size_gb must be between 1 and 300."
  }
}

variable "redis_version" {
  description = "Redis 7 release."
  type        = string
  default     = "REDIS_7_2"

  validation {
    condition     = startswith(var.redis_version, "REDIS_7_")
    error_message = "redis_version must be a Redis 7 release (REDIS_7_0, REDIS_7_2)."
  }
}

variable "maintenance_day" {
  description = "Day of the weekly maintenance window."
  type        = string
  default     = "SUNDAY"

  validation {
    condition     = contains(["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY"], var.maintenance_day)
    error_message = "maintenance_day must be a day name in capitals."
  }
}

variable "maintenance_hour" {
  description = "Start hour (UTC) of the weekly maintenance window."
  type        = number
  default     = 4

  validation {
    condition     = var.maintenance_hour >= 0 && var.maintenance_hour <= 23
    error_message = "maintenance_hour must be between 0 and 23."
  }
}

variable "labels" {
  description = "Labels applied to the instance."
  type        = map(string)
  default     = {}
}
