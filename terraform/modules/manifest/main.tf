locals {
  entries = { for f in var.manifest.functions : f.name => f }

  functions = {
    for name, f in local.entries : name => {
      name        = name
      description = f.description
      kind        = f.kind
      # The functions-framework target is the manifest name: functions register themselves
      # with http(name, ...) / cloudEvent(name, ...).
      entry_point     = name
      memory          = f.memory
      cpu             = f.cpu
      timeout_seconds = f.timeoutSeconds
      max_instances   = f.maxInstances
      min_instances   = f.minInstances
      concurrency     = try(f.concurrency, f.kind == "http" ? var.default_http_concurrency : var.default_event_concurrency)
      db_pool_max     = try(f.dbPoolMax, f.kind == "http" ? var.default_http_db_pool : var.default_event_db_pool)
      # HTTP functions are reached through the load balancer only; event functions only by
      # Pub/Sub push from inside the project.
      ingress = f.kind == "http" ? "ALLOW_INTERNAL_AND_GCLB" : "ALLOW_INTERNAL_ONLY"
      secrets = sort(distinct(f.access.secrets))
      # Environment variable -> secret id, as the declaration names them: DATABASE_URL -> database-url.
      secret_env = { for id in distinct(f.access.secrets) : var.manifest.secrets[id].env => id }
      access = {
        publishes = sort(distinct(f.access.publishes))
        uploads   = f.access.uploads
        outputs   = f.access.outputs
        kms       = f.access.kms
        sign_urls = f.access.signUrls
        # Secrets whose versions it manages, and secrets whose versions' metadata it reads.
        rotates = sort(distinct(try(f.access.rotates, [])))
        watches = sort(distinct(try(f.access.watches, [])))
      }

      method     = try(f.method, null)
      paths      = try(f.paths, [])
      auth       = try(f.auth, null)
      rate_limit = try(f.rateLimit, null)

      topic                 = try(f.topic, null)
      ack_deadline_seconds  = try(f.ackDeadlineSeconds, null)
      max_delivery_attempts = try(f.maxDeliveryAttempts, null)
      min_backoff_seconds   = try(f.minBackoffSeconds, null)
      max_backoff_seconds   = try(f.maxBackoffSeconds, null)
    }
  }

  http_functions  = { for name, f in local.functions : name => f if f.kind == "http" }
  event_functions = { for name, f in local.functions : name => f if f.kind == "event" }

  # One entry per declared (function, path). Exact paths use full_path_match; paths with {var}
  # segments use path_template_match ({id} -> {id=*}, exactly one segment).
  route_list = flatten([
    for name, f in local.http_functions : [
      for p in f.paths : {
        function  = name
        method    = f.method
        path      = p
        templated = length(regexall("\\{", p)) > 0
        template  = replace(p, "/\\{([^}=]+)\\}/", "{$1=*}")
        # Literal segment = "0", variable segment = "1": sorting these strings puts, among
        # templates that can match the same path, the one with the earliest literal first.
        shape = join("", [for s in split("/", trimprefix(p, "/")) : length(regexall("\\{", s)) > 0 ? "1" : "0"])
        # Functions sharing a path may name its variables differently: /webhooks/{id} and
        # /webhooks/{webhook_id} are one path.
        path_key = replace(p, "/\\{[^}]*\\}/", "{}")
      }
    ]
  ])

  # The entries of every path, keyed so that sorting the keys orders the paths: exact paths first
  # ("0-..."), then templates by specificity ("1-<shape>-..."). Within a path, by method (unique
  # per path, variable validation).
  route_by_sort_key = {
    for r in local.route_list : (r.templated ? "1-${r.shape}-${r.path_key}" : "0-${r.path_key}") => r...
  }
  route_groups = [
    for k in sort(keys(local.route_by_sort_key)) : [
      for m in sort(distinct([for r in local.route_by_sort_key[k] : r.method])) :
      [for r in local.route_by_sort_key[k] : r if r.method == m][0]
    ]
  ]

  # Per path, in path order: one rule per function, matching the path and its method (GET also
  # HEAD, which a GET handler serves); then one rule matching the path alone, to the path's first
  # function, so that a method no function of the path serves gets that function's 405 rather
  # than the load balancer's 404. Nothing after a path's method-less rule can match its requests,
  # so the most specific declared path decides, and the method only among that path's functions.
  route_sequence = flatten([
    for group in local.route_groups : concat(
      [for r in group : merge(r, { methods = r.method == "GET" ? ["GET", "HEAD"] : [r.method] })],
      [merge(group[0], { methods = [] })],
    )
  ])

  routes = [
    for i, r in local.route_sequence : merge(r, {
      priority = i + 1
      match    = r.templated ? "path_template_match" : "full_path_match"
      pattern  = r.templated ? r.template : r.path
    })
  ]

  secret_ids = sort(distinct(flatten([for f in local.functions : f.secrets])))

  topics = var.manifest.topics

  secrets = { for id, s in var.manifest.secrets : id => { description = s.description, rotate = s.rotate } }
}
