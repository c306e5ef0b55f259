variable "project_id" {
  description = "Project that runs the functions."
  type        = string
}

variable "region" {
  description = "Region of every function."
  type        = string
}

variable "name_prefix" {
  description = "Prefix of the shared service accounts and the Artifact Registry repository."
  type        = string
}

variable "functions" {
  description = "Every manifest function, as normalised by the manifest module, by name."
  type = map(object({
    name            = string
    description     = string
    kind            = string
    entry_point     = string
    memory          = string
    cpu             = string
    timeout_seconds = number
    max_instances   = number
    min_instances   = number
    concurrency     = number
    db_pool_max     = number
    ingress         = string
    secrets         = list(string)
    secret_env      = map(string)
    access = object({
      publishes = list(string)
      uploads   = string
      outputs   = string
      kms       = bool
      sign_urls = bool
      rotates   = list(string)
      watches   = list(string)
    })
  }))

  validation {
    condition     = alltrue([for f in var.functions : contains(["http", "event"], f.kind)])
    error_message = "kind must be http or event."
  }

  validation {
    condition     = alltrue([for f in var.functions : f.kind == "http" ? f.ingress == "ALLOW_INTERNAL_AND_GCLB" : f.ingress == "ALLOW_INTERNAL_ONLY"])
    error_message = "http functions must only be reachable through the load balancer, event functions only from inside the project."
  }
}

variable "runtime" {
  description = "Cloud Run functions runtime."
  type        = string
  default     = "nodejs20"

  validation {
    condition     = can(regex("^nodejs[0-9]+$", var.runtime))
    error_message = "runtime must be a Node.js runtime such as nodejs20."
  }
}

variable "source_bucket" {
  description = "Bucket that holds the function archives (functions/<name>/<version>.zip)."
  type        = string
}

variable "source_version" {
  description = "Archive version deployed for every function (Cloud Build uses the commit's short SHA)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9._-]+$", var.source_version))
    error_message = "source_version must be a plain object name component, e.g. a short commit SHA."
  }
}

variable "source_versions" {
  description = "Per-function override of source_version, to roll one function back or forward on its own."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for v in values(var.source_versions) : can(regex("^[A-Za-z0-9._-]+$", v))])
    error_message = "source_versions values must be plain object name components."
  }
}

variable "vpc_connector_id" {
  description = "Serverless VPC Access connector the functions use to reach Cloud SQL and Redis."
  type        = string
}

variable "vpc_egress" {
  description = "PRIVATE_RANGES_ONLY sends only RFC 1918 traffic through the connector (partners' input URLs and provider APIs go straight out); ALL_TRAFFIC needs Cloud NAT on the VPC."
  type        = string
  default     = "PRIVATE_RANGES_ONLY"

  validation {
    condition     = contains(["PRIVATE_RANGES_ONLY", "ALL_TRAFFIC"], var.vpc_egress)
    error_message = "vpc_egress must be PRIVATE_RANGES_ONLY or ALL_TRAFFIC."
  }
}

variable "environment" {
  description = "Plain environment variables every function receives (AIPROD_MODE, GOOGLE_CLOUD_PROJECT, buckets, REDIS_URL, REDIS_CA_CERT, LOG_LEVEL, AIPROD_VOICE_ENGINE...). Never put a secret here: secrets reach a function only through its access.secrets."
  type        = map(string)
}

variable "available_secrets" {
  description = "Secret ids that exist (and hold a version where Terraform writes one). Every secret a function reads must be in this list."
  type        = list(string)
}

variable "topic_ids" {
  description = "Topic ids by name, for the publisher grants in each function's access.publishes."
  type        = map(string)
}

variable "uploads_bucket" {
  description = "Uploads bucket name, for access.uploads grants."
  type        = string
}

variable "outputs_bucket" {
  description = "Outputs bucket name, for access.outputs grants."
  type        = string
}

variable "app_kms_key_id" {
  description = "Application envelope key, for access.kms grants."
  type        = string
}

variable "allow_public_http" {
  description = "Grant run.invoker to allUsers on http functions. Their ingress is internal-and-load-balancer, so the only public path is the load balancer with Cloud Armor in front; partners authenticate with API keys in the application. Set false only with an identity-aware front end."
  type        = bool
  default     = true
}

variable "labels" {
  description = "Labels applied to every function."
  type        = map(string)
  default     = {}
}
