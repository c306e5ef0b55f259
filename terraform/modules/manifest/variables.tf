variable "manifest" {
  description = "The decoded functions/manifest.json, the platform declaration: topics (list of names), secrets (id => {description, rotate, env}) and functions (name, kind, memory, cpu, timeoutSeconds, maxInstances, minInstances, access {secrets, publishes, uploads, outputs, signUrls, kms}, and for http: method, paths, auth, rateLimit; for event: topic, ackDeadlineSeconds, maxDeliveryAttempts, minBackoffSeconds, maxBackoffSeconds)."
  type        = any

  validation {
    condition     = length(var.manifest.functions) > 0
    error_message = "The manifest declares no function."
  }

  validation {
    condition     = length(distinct([for f in var.manifest.functions : f.name])) == length(var.manifest.functions)
    error_message = "Function names in the manifest must be unique."
  }

  validation {
    condition     = alltrue([for f in var.manifest.functions : can(regex("^[a-z][a-z0-9-]{1,40}[a-z0-9]$", f.name))])
    error_message = "Function names must match ^[a-z][a-z0-9-]{1,40}[a-z0-9]$ (they become Cloud Run service names)."
  }

  validation {
    condition     = alltrue([for f in var.manifest.functions : contains(["http", "event"], f.kind)])
    error_message = "Every manifest entry must have kind \"http\" or \"event\"."
  }

  validation {
    condition     = alltrue([for f in var.manifest.functions : contains(["256Mi", "512Mi", "1Gi", "2Gi", "4Gi", "8Gi"], f.memory) && contains(["1", "2", "4"], f.cpu)])
    error_message = "memory must be one of 256Mi..8Gi and cpu one of 1, 2, 4."
  }

  validation {
    condition     = alltrue([for f in var.manifest.functions : f.kind != "http" || (contains(["GET", "POST", "DELETE"], try(f.method, "")) && length(try(f.paths, [])) > 0)])
    error_message = "Every http function needs a method (GET, POST or DELETE) and at least one path."
  }

  validation {
    condition = alltrue([for f in var.manifest.functions : f.kind != "http" || alltrue([
      for p in try(f.paths, []) : can(regex("^/([a-z0-9._-]+|\\{[a-z][a-zA-Z0-9_]*\\})(/([a-z0-9._-]+|\\{[a-z][a-zA-Z0-9_]*\\}))*$", p)) || p == "/"
    ])])
    error_message = "Paths must be absolute, with whole-segment variables only (e.g. /pipeline/{id}/result)."
  }

  # A push subscription waits for the HTTP answer until the ack deadline; a deadline shorter
  # than the function timeout would redeliver a message that is still being processed.
  validation {
    condition     = alltrue([for f in var.manifest.functions : f.kind != "event" || try(f.ackDeadlineSeconds > f.timeoutSeconds, false)])
    error_message = "Every event function needs ackDeadlineSeconds greater than timeoutSeconds."
  }

  validation {
    condition = alltrue([for f in var.manifest.functions : f.kind != "event" || try(
      f.maxDeliveryAttempts >= 5 && f.maxDeliveryAttempts <= 100 &&
      f.minBackoffSeconds >= 0 && f.maxBackoffSeconds <= 600 &&
      f.minBackoffSeconds <= f.maxBackoffSeconds &&
      f.ackDeadlineSeconds >= 10 && f.ackDeadlineSeconds <= 600,
      false
    )])
    error_message = "Event functions need 5 <= maxDeliveryAttempts <= 100, 0 <= minBackoffSeconds <= maxBackoffSeconds <= 600 and 10 <= ackDeadlineSeconds <= 600 (Pub/Sub limits)."
  }

  validation {
    condition     = alltrue([for f in var.manifest.functions : f.kind != "event" || contains(var.manifest.topics, try(f.topic, ""))])
    error_message = "Event functions must subscribe to one of the declared topics."
  }

  validation {
    condition = alltrue(flatten([for f in var.manifest.functions : concat(
      [for id in f.access.secrets : contains(keys(var.manifest.secrets), id)],
      [for t in f.access.publishes : contains(var.manifest.topics, t)],
      [contains(["none", "read", "write", "read-write"], f.access.uploads), contains(["none", "read", "write", "read-write"], f.access.outputs)],
    )]))
    error_message = "A function's access names an undeclared secret or topic, or a bucket access other than none, read, write, read-write."
  }

  # The load balancer matches the path and the method (the :method pseudo-header), so functions
  # may share a path when their methods differ. The same method twice on one path (variables
  # ignored: /webhooks/{id} and /webhooks/{webhook_id} are one path) would leave one of the two
  # unreachable.
  validation {
    condition = length(flatten([for f in var.manifest.functions : [for p in try(f.paths, []) : p] if f.kind == "http"])) == length(distinct(flatten([
      for f in var.manifest.functions : [for p in try(f.paths, []) : "${try(f.method, "")} ${replace(p, "/\\{[^}]*\\}/", "{}")}"] if f.kind == "http"
    ])))
    error_message = "Two http entries serve the same method on the same path (variables ignored). Functions may share a path only when their methods differ."
  }
}

variable "default_http_concurrency" {
  description = "Concurrent requests per instance for http functions whose entry has no `concurrency`. Handlers are I/O bound, so sharing an instance keeps cold starts rare."
  type        = number
  default     = 40

  validation {
    condition     = var.default_http_concurrency >= 1 && var.default_http_concurrency <= 1000
    error_message = "Concurrency must be between 1 and 1000."
  }
}

variable "default_event_concurrency" {
  description = "Concurrent deliveries per instance for event functions whose entry has no `concurrency`. 1 keeps one media job per instance, so its memory and CPU are its own."
  type        = number
  default     = 1

  validation {
    condition     = var.default_event_concurrency >= 1 && var.default_event_concurrency <= 1000
    error_message = "Concurrency must be between 1 and 1000."
  }
}

variable "default_http_db_pool" {
  description = "DATABASE_POOL_MAX of http functions whose entry has no `dbPoolMax`. Requests of one instance share the pool, and max instances times pool size must fit in Cloud SQL's max_connections."
  type        = number
  default     = 5

  validation {
    condition     = var.default_http_db_pool >= 1 && var.default_http_db_pool <= 100
    error_message = "default_http_db_pool must be between 1 and 100."
  }
}

variable "default_event_db_pool" {
  description = "DATABASE_POOL_MAX of event functions whose entry has no `dbPoolMax` (one delivery at a time needs few connections)."
  type        = number
  default     = 2

  validation {
    condition     = var.default_event_db_pool >= 1 && var.default_event_db_pool <= 100
    error_message = "default_event_db_pool must be between 1 and 100."
  }
}
