variable "project_id" {
  description = "Project that holds the topics and subscriptions."
  type        = string
}

variable "topics" {
  description = "Platform topics, as the platform declaration lists them (the manifest module's `topics`). Each gets a <name>-dead-letter topic."
  type        = list(string)

  validation {
    condition     = length(var.topics) > 0 && length(distinct(var.topics)) == length(var.topics)
    error_message = "topics must be a non-empty list of distinct names."
  }
}

variable "event_functions" {
  description = "Event functions from the manifest module (topic, ack_deadline_seconds, timeout_seconds, max_delivery_attempts, min_backoff_seconds, max_backoff_seconds), by function name. Each gets one push subscription."
  type = map(object({
    topic                 = string
    timeout_seconds       = number
    ack_deadline_seconds  = number
    max_delivery_attempts = number
    min_backoff_seconds   = number
    max_backoff_seconds   = number
  }))

  validation {
    condition     = alltrue([for f in var.event_functions : f.ack_deadline_seconds > f.timeout_seconds])
    error_message = "A push subscription's ack deadline must be longer than its function's timeout, or Pub/Sub redelivers messages still being processed."
  }

  validation {
    condition     = alltrue([for f in var.event_functions : f.max_delivery_attempts >= 5 && f.max_delivery_attempts <= 100])
    error_message = "max_delivery_attempts must be between 5 and 100."
  }
}

variable "function_uris" {
  description = "HTTPS endpoint (run.app URI) of every event function, by function name."
  type        = map(string)
}

variable "invoker_service_account" {
  description = "Email of the service account whose OIDC token Pub/Sub attaches to push requests; it holds run.invoker on the event functions and nothing else."
  type        = string
}

variable "pubsub_service_agent" {
  description = "Email of the Pub/Sub service agent (service-<number>@gcp-sa-pubsub.iam.gserviceaccount.com)."
  type        = string
}

variable "message_retention" {
  description = "How long topics and dead-letter subscriptions keep messages (replay after an incident)."
  type        = string
  default     = "604800s"

  validation {
    condition     = can(regex("^[0-9]+s$", var.message_retention))
    error_message = "message_retention must be a duration in seconds, e.g. 604800s."
  }
}

variable "labels" {
  description = "Labels applied to topics and subscriptions."
  type        = map(string)
  default     = {}
}
