variable "project_id" {
  description = "Project that holds the instance."
  type        = string
}

variable "region" {
  description = "Region of the primary and its replicas (the KMS key must be in this region too)."
  type        = string
}

variable "name_prefix" {
  description = "Prefix of the instance names: <prefix>-postgres, <prefix>-postgres-replica-<n>."
  type        = string
}

variable "instance_name" {
  description = "Name of the primary instance; null means <prefix>-postgres. Set it to adopt an instance created by a point-in-time recovery clone (docs/disaster-recovery.md), since Cloud SQL cannot rename."
  type        = string
  default     = null

  validation {
    condition     = var.instance_name == null || can(regex("^[a-z][a-z0-9-]{0,78}[a-z0-9]$", coalesce(var.instance_name, "x")))
    error_message = "instance_name must be a valid Cloud SQL instance name."
  }
}

variable "network_id" {
  description = "VPC id whose private service access peering the instance joins. Pass it only once the peering exists."
  type        = string
}

variable "kms_key_id" {
  description = "CMEK for the instance disks, replicas and backups. The Cloud SQL service agent must already hold encrypter/decrypter on it."
  type        = string
}

variable "tier" {
  description = "Machine tier of the primary (Enterprise edition custom tiers: db-custom-<vCPU>-<MiB>)."
  type        = string
  default     = "db-custom-2-7680"

  validation {
    condition     = can(regex("^db-(custom-[0-9]+-[0-9]+|g1-small|f1-micro|n1-(standard|highmem)-[0-9]+)$", var.tier))
    error_message = "tier must be an Enterprise edition tier such as db-custom-2-7680."
  }
}

variable "replica_tier" {
  description = "Machine tier of the read replicas; null uses the primary's tier."
  type        = string
  default     = null
}

variable "disk_size_gb" {
  description = "Initial disk size; the disk grows automatically."
  type        = number
  default     = 50

  validation {
    condition     = var.disk_size_gb >= 10
    error_message = "disk_size_gb must be at least 10."
  }
}

variable "read_replica_count" {
  description = "Number of read replicas: the cross-zone promotion targets of the disaster recovery plan; the first also serves the application's lag-tolerant reads (database_replica_url). 0 turns them off, and database_replica_url names the primary."
  type        = number
  default     = 1

  validation {
    condition     = var.read_replica_count >= 0 && var.read_replica_count <= 5 && floor(var.read_replica_count) == var.read_replica_count
    error_message = "read_replica_count must be a whole number between 0 and 5."
  }
}

variable "max_connections" {
  description = "PostgreSQL max_connections. Sized for every function's max instances times its pool size; the connections alert fires at 80%."
  type        = number
  default     = 400

  validation {
    condition     = var.max_connections >= 50 && var.max_connections <= 10000
    error_message = "max_connections must be between 50 and 10000."
  }
}

variable "backup_start_time" {
  description = "Start of the daily backup window, HH:MM UTC."
  type        = string
  default     = "03:00"

  validation {
    condition     = can(regex("^([01][0-9]|2[0-3]):[0-5][0-9]$", var.backup_start_time))
    error_message = "backup_start_time must be HH:MM."
  }
}

variable "retained_backups" {
  description = "Number of daily backups kept."
  type        = number
  default     = 30

  validation {
    condition     = var.retained_backups >= 7 && var.retained_backups <= 365
    error_message = "retained_backups must be between 7 and 365."
  }
}

variable "pitr_days" {
  description = "Days of write-ahead log kept for point-in-time recovery."
  type        = number
  default     = 7

  validation {
    condition     = var.pitr_days >= 1 && var.pitr_days <= 7
    error_message = "pitr_days must be between 1 and 7 (Enterprise edition maximum)."
  }
}

variable "backup_location" {
  description = "Location of the backups (e.g. the multi-region \"eu\"), so a regional outage does not take the backups with it. null lets Cloud SQL pick the multi-region that contains the instance."
  type        = string
  default     = null
}

variable "maintenance_day" {
  description = "Day of the maintenance window, 1 (Monday) to 7 (Sunday)."
  type        = number
  default     = 7

  validation {
    condition     = var.maintenance_day >= 1 && var.maintenance_day <= 7
    error_message = "maintenance_day must be between 1 and 7."
  }
}

variable "maintenance_hour" {
  description = "Hour (UTC) of the maintenance window; kept away from the 03:00 backup."
  type        = number
  default     = 5

  validation {
    condition     = var.maintenance_hour >= 0 && var.maintenance_hour <= 23
    error_message = "maintenance_hour must be between 0 and 23."
  }
}

variable "database_name" {
  description = "Application database name."
  type        = string
  default     = "aiprod"
}

variable "user_name" {
  description = "Application database user."
  type        = string
  default     = "aiprod"
}

variable "deletion_protection" {
  description = "Refuse to destroy the instances from Terraform (and, at the API level, from anywhere)."
  type        = bool
  default     = true
}

variable "labels" {
  description = "Labels applied to the instances."
  type        = map(string)
  default     = {}
}
