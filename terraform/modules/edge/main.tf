locals {
  allowed_methods = sort(distinct(concat(var.http_methods, var.extra_allowed_methods)))

  # Preconfigured OWASP ModSecurity CRS 3.3 rule sets, one Cloud Armor rule each so that logs
  # name the rule set that matched.
  waf_rules = {
    1000 = "sqli-v33-stable"
    1010 = "xss-v33-stable"
    1020 = "lfi-v33-stable"
    1030 = "rce-v33-stable"
    1040 = "scannerdetection-v33-stable"
    1050 = "protocolattack-v33-stable"
    1060 = "sessionfixation-v33-stable"
  }

  # Any backend works: the default route aborts with 404 before reaching it.
  fallback_function = sort(keys(var.http_functions))[0]

  # The URL map's route rules, one per route of the manifest module, in its priority order. A
  # route with methods gets one match rule per method (match rules are ORed): its path and an
  # exact match on the :method pseudo-header, so a GET route matches GET and HEAD with two exact
  # matches rather than a regular expression. A route without methods (the last rule of each
  # path) matches the path alone and sends every other method to a function that answers 405.
  route_rules = [
    for r in var.routes : {
      priority = r.priority
      function = r.function
      match_rules = [
        for m in coalescelist(r.methods, [""]) : {
          full_path_match     = r.match == "full_path_match" ? r.pattern : null
          path_template_match = r.match == "path_template_match" ? r.pattern : null
          method              = m == "" ? null : m
        }
      ]
    }
  ]

  cert_suffix = substr(sha1(join(",", sort(var.domains))), 0, 8)
}

# ---------------------------------------------------------------------------------------------
# Cloud Armor
# ---------------------------------------------------------------------------------------------

resource "google_compute_security_policy" "api" {
  project     = var.project_id
  name        = "${var.name_prefix}-api-armor"
  description = "WAF, method and size limits, geo block and per-IP rate-based ban for the partner API."
  type        = "CLOUD_ARMOR"

  adaptive_protection_config {
    layer_7_ddos_defense_config {
      enable          = true
      rule_visibility = "STANDARD"
    }
  }

  advanced_options_config {
    json_parsing = "STANDARD"
    log_level    = "VERBOSE"
  }

  dynamic "rule" {
    for_each = length(var.geo_block_regions) > 0 ? [1] : []
    content {
      action      = "deny(403)"
      priority    = 100
      preview     = var.armor_preview
      description = "Geo block: ${join(", ", var.geo_block_regions)}"
      match {
        expr {
          expression = "origin.region_code.matches('^(${join("|", var.geo_block_regions)})$')"
        }
      }
    }
  }

  rule {
    action      = "deny(403)"
    priority    = 200
    preview     = var.armor_preview
    description = "Method allowlist: ${join(", ", local.allowed_methods)}"
    match {
      expr {
        expression = "!request.method.matches('^(${join("|", local.allowed_methods)})$')"
      }
    }
  }

  # Cloud Armor can only answer 403, 404, 429 or 502; 403 it is.
  rule {
    action      = "deny(403)"
    priority    = 300
    preview     = var.armor_preview
    description = "Request body over ${var.max_body_bytes} bytes"
    match {
      expr {
        expression = "int(request.headers['content-length']) > ${var.max_body_bytes}"
      }
    }
  }

  dynamic "rule" {
    for_each = local.waf_rules
    content {
      action      = "deny(403)"
      priority    = tonumber(rule.key)
      preview     = var.armor_preview
      description = "Preconfigured WAF: ${rule.value}"
      match {
        expr {
          expression = "evaluatePreconfiguredWaf('${rule.value}', {'sensitivity': ${var.waf_sensitivity}})"
        }
      }
    }
  }

  # Last before the default: a request that conforms is allowed by this rule and no later rule
  # would be evaluated.
  rule {
    action      = "rate_based_ban"
    priority    = 9000
    preview     = var.armor_preview
    description = "Ban an IP for ${var.ban_duration_sec}s after ${var.rate_limit_count} requests in ${var.rate_limit_interval_sec}s"
    match {
      versioned_expr = "SRC_IPS_V1"
      config {
        src_ip_ranges = ["*"]
      }
    }
    rate_limit_options {
      conform_action   = "allow"
      exceed_action    = "deny(429)"
      enforce_on_key   = "IP"
      ban_duration_sec = var.ban_duration_sec
      rate_limit_threshold {
        count        = var.rate_limit_count
        interval_sec = var.rate_limit_interval_sec
      }
    }
  }

  rule {
    action      = "allow"
    priority    = 2147483647
    description = "Default: allow"
    match {
      versioned_expr = "SRC_IPS_V1"
      config {
        src_ip_ranges = ["*"]
      }
    }
  }
}

# ---------------------------------------------------------------------------------------------
# Backends: one serverless NEG and one backend service per http function
# ---------------------------------------------------------------------------------------------

resource "google_compute_region_network_endpoint_group" "function" {
  for_each = var.http_functions

  project               = var.project_id
  name                  = "${var.name_prefix}-neg-${each.key}"
  region                = var.region
  network_endpoint_type = "SERVERLESS"

  cloud_function {
    function = each.key
  }
}

resource "google_compute_backend_service" "function" {
  for_each = var.http_functions

  project               = var.project_id
  name                  = "${var.name_prefix}-be-${each.key}"
  description           = "Function ${each.key}"
  protocol              = "HTTPS"
  load_balancing_scheme = "EXTERNAL_MANAGED"
  security_policy       = google_compute_security_policy.api.id
  enable_cdn            = false

  custom_response_headers = [
    "Strict-Transport-Security: max-age=31536000; includeSubDomains",
  ]

  backend {
    group = google_compute_region_network_endpoint_group.function[each.key].id
  }

  log_config {
    enable      = true
    sample_rate = 1.0
  }
}

# ---------------------------------------------------------------------------------------------
# Routing
# ---------------------------------------------------------------------------------------------

# Route rules are evaluated by priority, lowest first, and the first that matches wins. The
# manifest module orders them by path (exact paths first, then path templates from the most to the
# least specific) and, within a path, by method, ending each path with a method-less rule. Matching
# the :method pseudo-header needs the global external Application Load Balancer
# (EXTERNAL_MANAGED on the backend services and forwarding rules).
resource "google_compute_url_map" "api" {
  project     = var.project_id
  name        = "${var.name_prefix}-api"
  description = "Partner API: routes built from functions/manifest.json."

  # Unknown host (e.g. the bare IP): send the client to the canonical domain.
  default_url_redirect {
    host_redirect          = var.domains[0]
    https_redirect         = true
    redirect_response_code = "MOVED_PERMANENTLY_DEFAULT"
    strip_query            = false
  }

  host_rule {
    hosts        = var.domains
    path_matcher = "api"
  }

  path_matcher {
    name = "api"

    # Paths no function declares get a plain 404 from the load balancer itself, rather than
    # reaching a function that would not expect them.
    default_route_action {
      weighted_backend_services {
        backend_service = google_compute_backend_service.function[local.fallback_function].id
        weight          = 100
      }
      fault_injection_policy {
        abort {
          http_status = 404
          percentage  = 100
        }
      }
    }

    dynamic "route_rules" {
      for_each = local.route_rules
      content {
        priority = route_rules.value.priority
        service  = google_compute_backend_service.function[route_rules.value.function].id

        dynamic "match_rules" {
          for_each = route_rules.value.match_rules
          content {
            full_path_match     = match_rules.value.full_path_match
            path_template_match = match_rules.value.path_template_match

            dynamic "header_matches" {
              for_each = match_rules.value.method == null ? [] : [match_rules.value.method]
              content {
                header_name = ":method"
                exact_match = header_matches.value
              }
            }
          }
        }
      }
    }
  }

  lifecycle {
    precondition {
      condition     = alltrue([for r in var.routes : contains(keys(var.http_functions), r.function)])
      error_message = "A route points at a function that is not an http function of the manifest."
    }
  }
}

resource "google_compute_url_map" "https_redirect" {
  project     = var.project_id
  name        = "${var.name_prefix}-http-redirect"
  description = "Port 80: redirect everything to HTTPS."

  default_url_redirect {
    https_redirect         = true
    redirect_response_code = "MOVED_PERMANENTLY_DEFAULT"
    strip_query            = false
  }
}

# ---------------------------------------------------------------------------------------------
# Frontend
# ---------------------------------------------------------------------------------------------

resource "google_compute_global_address" "api" {
  project      = var.project_id
  name         = "${var.name_prefix}-api-ip"
  address_type = "EXTERNAL"
  ip_version   = "IPV4"
}

# The name carries a hash of the domains: changing domains creates the new certificate before
# the proxy lets go of the old one.
resource "google_compute_managed_ssl_certificate" "api" {
  project = var.project_id
  name    = "${var.name_prefix}-api-cert-${local.cert_suffix}"

  managed {
    domains = var.domains
  }

  lifecycle {
    create_before_destroy = true
  }
}

resource "google_compute_ssl_policy" "api" {
  project         = var.project_id
  name            = "${var.name_prefix}-tls"
  profile         = "MODERN"
  min_tls_version = "TLS_1_2"
}

resource "google_compute_target_https_proxy" "api" {
  project          = var.project_id
  name             = "${var.name_prefix}-api-https"
  url_map          = google_compute_url_map.api.id
  ssl_certificates = [google_compute_managed_ssl_certificate.api.id]
  ssl_policy       = google_compute_ssl_policy.api.id
}

resource "google_compute_target_http_proxy" "redirect" {
  project = var.project_id
  name    = "${var.name_prefix}-api-http"
  url_map = google_compute_url_map.https_redirect.id
}

resource "google_compute_global_forwarding_rule" "https" {
  project               = var.project_id
  name                  = "${var.name_prefix}-api-https"
  ip_address            = google_compute_global_address.api.id
  ip_protocol           = "TCP"
  port_range            = "443"
  load_balancing_scheme = "EXTERNAL_MANAGED"
  target                = google_compute_target_https_proxy.api.id
  labels                = var.labels
}

resource "google_compute_global_forwarding_rule" "http" {
  project               = var.project_id
  name                  = "${var.name_prefix}-api-http"
  ip_address            = google_compute_global_address.api.id
  ip_protocol           = "TCP"
  port_range            = "80"
  load_balancing_scheme = "EXTERNAL_MANAGED"
  target                = google_compute_target_http_proxy.redirect.id
  labels                = var.labels
}
