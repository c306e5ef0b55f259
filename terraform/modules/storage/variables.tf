variable "project_id" {
  description = "Project that holds the buckets."
  type        = string
}

variable "region" {
  description = "Bucket location. Regional, in the same location as the KMS key and the functions (no cross-region egress on media)."
  type        = string
}

variable "name_prefix" {
  description = "Prefix of the bucket names, after the project id (bucket names are global)."
  type        = string
}

variable "kms_key_id" {
  description = "CMEK used as every bucket's default key. The Cloud Storage service agent must already hold encrypter/decrypter on it."
  type        = string
}

variable "upload_finalized_topic_id" {
  description = "Id of the upload-finalized topic (projects/<p>/topics/upload-finalized): the uploads bucket's OBJECT_FINALIZE notifications go there, for the upload-inspector."
  type        = string
}

variable "storage_service_agent" {
  description = "Email of the project's Cloud Storage service agent, which publishes the uploads bucket's notifications."
  type        = string
}

variable "outputs_retention_days" {
  description = "Days after which a finished job's output is deleted. Partners are told results are kept 30 days."
  type        = number
  default     = 30

  validation {
    condition     = var.outputs_retention_days >= 1 && var.outputs_retention_days <= 3650
    error_message = "outputs_retention_days must be between 1 and 3650."
  }
}

variable "uploads_retention_days" {
  description = "Days after which a partner's uploaded source media is deleted. Inputs are only needed while their job runs."
  type        = number
  default     = 7

  validation {
    condition     = var.uploads_retention_days >= 1 && var.uploads_retention_days <= 3650
    error_message = "uploads_retention_days must be between 1 and 3650."
  }
}

variable "sources_retention_versions" {
  description = "Noncurrent versions of each function source archive kept for rollback."
  type        = number
  default     = 20

  validation {
    condition     = var.sources_retention_versions >= 1
    error_message = "Keep at least one noncurrent version."
  }
}

variable "cors_origins" {
  description = "Browser origins allowed to PUT to signed upload URLs. Empty: server-to-server uploads only."
  type        = list(string)
  default     = []
}

variable "labels" {
  description = "Labels applied to every bucket."
  type        = map(string)
  default     = {}
}
