variable "project_id" {
  description = "Project that holds the secrets."
  type        = string
}

variable "region" {
  description = "Location of the single user-managed replica of every secret (same location as the KMS key)."
  type        = string
}

variable "name_prefix" {
  description = "Prefix of the rotation scheduler job name."
  type        = string
}

variable "kms_key_id" {
  description = "CMEK for every secret payload. The Secret Manager service agent must already hold encrypter/decrypter on it."
  type        = string
}

variable "rotation_topic_id" {
  description = "Id of the secret-rotation topic (projects/<p>/topics/secret-rotation): Secret Manager sends its SECRET_ROTATE notices there and the scheduler job publishes the quarterly rotate order there."
  type        = string
}

variable "secret_manager_agent" {
  description = "Email of the Secret Manager service agent, which must be allowed to publish rotation notices."
  type        = string
}

variable "secrets" {
  description = "Every secret to create, by secret id. rotate = true adds a rotation schedule and notices on the rotation topic. Secrets whose value Terraform does not write (provider API keys) get their first version from ops: see docs/operations/bootstrap.md."
  type = map(object({
    description = string
    rotate      = optional(bool, false)
  }))

  validation {
    condition     = alltrue([for id, s in var.secrets : can(regex("^[A-Za-z0-9_-]{1,255}$", id))])
    error_message = "Secret ids may contain letters, digits, '_' and '-' only."
  }
}

variable "seeded_secret_ids" {
  description = "Secret ids whose first version Terraform writes from seeded_values; later versions belong to whoever rotates the secret (ops today) and changes to the value are ignored. Must be keys of var.secrets."
  type        = list(string)
  default     = []
}

variable "seeded_values" {
  description = "Values of the seeded secrets, by secret id."
  type        = map(string)
  default     = {}
  sensitive   = true
}

variable "managed_secret_ids" {
  description = "Secret ids whose value Terraform keeps in sync with managed_values (values owned by infrastructure, e.g. the Redis AUTH string). Must be keys of var.secrets."
  type        = list(string)
  default     = []
}

variable "managed_values" {
  description = "Values of the managed secrets, by secret id."
  type        = map(string)
  default     = {}
  sensitive   = true
}

variable "rotation_period" {
  description = "Rotation period of rotating secrets."
  type        = string
  default     = "7776000s"

  validation {
    condition     = can(regex("^[0-9]+s$", var.rotation_period)) && try(tonumber(trimsuffix(var.rotation_period, "s")) >= 3600 && tonumber(trimsuffix(var.rotation_period, "s")) <= 7776000, false)
    error_message = "rotation_period must be between 3600s and 7776000s (90 days)."
  }
}

variable "rotation_schedule" {
  description = "Cron schedule of the job that orders a rotation run (first day of every third month)."
  type        = string
  default     = "0 0 1 */3 *"
}

variable "rotation_finish_schedule" {
  description = "Cron schedule of the job that has the secret-rotator finish what rotations left for later (every hour): a previous version is disabled at most this long after its grace period."
  type        = string
  default     = "17 * * * *"
}

variable "time_zone" {
  description = "Time zone of the rotation schedule."
  type        = string
  default     = "Etc/UTC"
}

variable "labels" {
  description = "Labels applied to every secret."
  type        = map(string)
  default     = {}
}
