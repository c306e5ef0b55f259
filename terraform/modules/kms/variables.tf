variable "project_id" {
  description = "Project that holds the keyring."
  type        = string
}

variable "region" {
  description = "Keyring location. CMEK keys must live in the same location as the data they protect (Cloud SQL, Memorystore, regional buckets, Secret Manager replicas)."
  type        = string
}

variable "name_prefix" {
  description = "Prefix of the keyring and key names."
  type        = string
}

variable "rotation_period" {
  description = "Automatic rotation period of every key, in seconds with an 's' suffix. The security policy asks for 90 days."
  type        = string
  default     = "7776000s"

  validation {
    condition     = can(regex("^[0-9]+s$", var.rotation_period)) && try(tonumber(trimsuffix(var.rotation_period, "s")) >= 86400 && tonumber(trimsuffix(var.rotation_period, "s")) <= 7776000, false)
    error_message = "rotation_period must be between 86400s (1 day, the KMS minimum) and 7776000s (90 days, the policy maximum)."
  }
}

variable "protection_level" {
  description = "SOFTWARE or HSM. HSM keys cost more and are only needed where compliance asks for FIPS 140-2 level 3."
  type        = string
  default     = "SOFTWARE"

  validation {
    condition     = contains(["SOFTWARE", "HSM"], var.protection_level)
    error_message = "protection_level must be SOFTWARE or HSM."
  }
}

variable "service_agents" {
  description = "Google service agents that encrypt data at rest with our keys, by key purpose: database (Cloud SQL), cache (Memorystore), storage (Cloud Storage), secrets (Secret Manager). Each gets cryptoKeyEncrypterDecrypter on its key only."
  type = object({
    database = string
    cache    = string
    storage  = string
    secrets  = string
  })
}

variable "labels" {
  description = "Labels applied to every key."
  type        = map(string)
  default     = {}
}
