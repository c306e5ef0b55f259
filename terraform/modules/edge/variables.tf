variable "project_id" {
  description = "Project that holds the load balancer."
  type        = string
}

variable "region" {
  description = "Region of the functions (and so of their serverless network endpoint groups)."
  type        = string
}

variable "name_prefix" {
  description = "Prefix of every load balancer resource name."
  type        = string
}

variable "domains" {
  description = "Domains served by the load balancer and its Google-managed certificate. Their DNS A records must point at the load balancer address."
  type        = list(string)

  validation {
    condition     = length(var.domains) > 0 && alltrue([for d in var.domains : can(regex("^([a-z0-9]([a-z0-9-]*[a-z0-9])?\\.)+[a-z]{2,}$", d))])
    error_message = "domains needs at least one fully qualified lower-case domain name."
  }
}

variable "http_functions" {
  description = "HTTP functions from the manifest module, by name. Each gets a serverless NEG and a backend service."
  type = map(object({
    method = string
  }))

  validation {
    condition     = length(var.http_functions) > 0
    error_message = "The load balancer needs at least one http function."
  }
}

variable "routes" {
  description = "Route rules from the manifest module, in priority order: function, path, match (full_path_match or path_template_match), pattern, methods (the :method values the rule matches; empty for the method-less last rule of a path), priority."
  type = list(object({
    function = string
    path     = string
    match    = string
    pattern  = string
    methods  = list(string)
    priority = number
  }))

  validation {
    condition     = length(distinct([for r in var.routes : r.priority])) == length(var.routes)
    error_message = "Route priorities must be unique."
  }

  validation {
    condition     = alltrue([for r in var.routes : contains(["full_path_match", "path_template_match"], r.match)])
    error_message = "match must be full_path_match or path_template_match."
  }

  validation {
    condition     = alltrue([for r in var.routes : alltrue([for m in r.methods : can(regex("^[A-Z]+$", m))])])
    error_message = "Route methods are upper-case words (GET, HEAD, POST, DELETE)."
  }

  # Every rule that matches a method needs a method-less rule of its path after it: without
  # one, a request for a declared path with a method no function serves would fall through to
  # the default 404 instead of a function's 405.
  validation {
    condition = alltrue([for r in var.routes : anytrue([
      for f in var.routes : length(f.methods) == 0 && f.priority >= r.priority && replace(f.pattern, "/\\{[^}]*\\}/", "{}") == replace(r.pattern, "/\\{[^}]*\\}/", "{}")
    ])])
    error_message = "Every routed path needs a method-less route after its method routes (the manifest module ends each path with one)."
  }
}

variable "http_methods" {
  description = "Methods the manifest serves; Cloud Armor denies every other method (plus extra_allowed_methods)."
  type        = list(string)
}

variable "extra_allowed_methods" {
  description = "Methods allowed on top of the manifest's: HEAD for probes, OPTIONS for browser preflight on the docs page."
  type        = list(string)
  default     = ["HEAD", "OPTIONS"]

  validation {
    condition     = alltrue([for m in var.extra_allowed_methods : can(regex("^[A-Z]+$", m))])
    error_message = "Methods are upper-case words."
  }
}

variable "armor_preview" {
  description = "Put every Cloud Armor rule in preview: matches are logged (enforcedAction in the logs) but not enforced. Use it to roll out rule changes, read the logs, then set it back to false."
  type        = bool
  default     = false
}

variable "geo_block_regions" {
  description = "ISO 3166-1 alpha-2 region codes whose traffic is denied. Empty: no geo block."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for c in var.geo_block_regions : can(regex("^[A-Z]{2}$", c))])
    error_message = "geo_block_regions must be upper-case two-letter region codes, e.g. KP."
  }
}

variable "waf_sensitivity" {
  description = "Sensitivity level of the preconfigured WAF rules (1 = fewest false positives, 4 = strictest)."
  type        = number
  default     = 1

  validation {
    condition     = var.waf_sensitivity >= 1 && var.waf_sensitivity <= 4
    error_message = "waf_sensitivity must be between 1 and 4."
  }
}

variable "max_body_bytes" {
  description = "Largest request body (Content-Length) accepted. Media goes straight to Cloud Storage through signed URLs, so API bodies stay small."
  type        = number
  default     = 10485760

  validation {
    condition     = var.max_body_bytes > 0
    error_message = "max_body_bytes must be positive."
  }
}

variable "rate_limit_count" {
  description = "Requests per client IP per rate_limit_interval_sec before the IP is banned."
  type        = number
  default     = 1000

  validation {
    condition     = var.rate_limit_count >= 1
    error_message = "rate_limit_count must be positive."
  }
}

variable "rate_limit_interval_sec" {
  description = "Window of the rate-based ban, in seconds."
  type        = number
  default     = 60

  validation {
    condition     = contains([10, 30, 60, 120, 180, 240, 300, 600, 900, 1200, 1800, 2700, 3600], var.rate_limit_interval_sec)
    error_message = "rate_limit_interval_sec must be one of the values Cloud Armor accepts (10, 30, 60, 120, ..., 3600)."
  }
}

variable "ban_duration_sec" {
  description = "How long an IP that crossed the rate limit stays banned."
  type        = number
  default     = 600

  validation {
    condition     = var.ban_duration_sec >= 60
    error_message = "ban_duration_sec must be at least 60."
  }
}

variable "labels" {
  description = "Labels applied where the resource supports them."
  type        = map(string)
  default     = {}
}
