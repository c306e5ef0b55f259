locals {
  http_functions  = { for k, f in var.functions : k => f if f.kind == "http" }
  event_functions = { for k, f in var.functions : k => f if f.kind == "event" }

  # Service account ids are 6-30 characters; long function names keep a hash suffix so that two
  # names sharing a prefix still get distinct accounts.
  account_ids = {
    for k, f in var.functions : k => (
      length(k) <= 27 ? "fn-${k}" : "fn-${substr(k, 0, 20)}-${substr(sha1(k), 0, 6)}"
    )
  }

  secret_env = { for k, f in var.functions : k => f.secret_env }

  runtime_project_roles = [
    "roles/logging.logWriter",
    "roles/monitoring.metricWriter",
    "roles/cloudtrace.agent",
  ]

  bucket_roles = {
    none         = []
    read         = ["roles/storage.objectViewer"]
    write        = ["roles/storage.objectCreator"]
    "read-write" = ["roles/storage.objectUser"]
  }

  project_grants = {
    for pair in setproduct(keys(var.functions), local.runtime_project_roles) : "${pair[0]}|${pair[1]}" => {
      function = pair[0]
      role     = pair[1]
    }
  }

  # Read access to exactly the secrets a function is given.
  secret_reads = merge([
    for k, f in var.functions : {
      for id in values(local.secret_env[k]) : "${k}|${id}" => {
        function = k
        secret   = id
      }
    }
  ]...)

  publishes = merge([
    for k, f in var.functions : {
      for t in f.access.publishes : "${k}|${t}" => { function = k, topic = t }
    }
  ]...)

  bucket_grants = merge(
    merge([
      for k, f in var.functions : {
        for role in local.bucket_roles[f.access.uploads] : "${k}|uploads|${role}" => {
          function = k
          bucket   = var.uploads_bucket
          role     = role
        }
      }
    ]...),
    merge([
      for k, f in var.functions : {
        for role in local.bucket_roles[f.access.outputs] : "${k}|outputs|${role}" => {
          function = k
          bucket   = var.outputs_bucket
          role     = role
        }
      }
    ]...),
  )

  # The secret-rotator's: every version of a secret it rotates managed (and read), the versions'
  # metadata of a secret it watches read (never a value).
  secret_rotations = merge([
    for k, f in var.functions : {
      for pair in setproduct(f.access.rotates, local.rotator_roles) : "${k}|${pair[0]}|${pair[1]}" => {
        function = k
        secret   = pair[0]
        role     = pair[1]
      }
    }
  ]...)
  secret_watches = merge([
    for k, f in var.functions : {
      for id in f.access.watches : "${k}|${id}" => { function = k, secret = id }
    }
  ]...)
  # secretVersionManager adds, enables and disables versions (it may destroy them too: no narrower
  # predefined role exists, and a custom one would need the deployer to administer roles).
  rotator_roles = ["roles/secretmanager.secretVersionManager", "roles/secretmanager.secretAccessor"]

  kms_users  = { for k, f in var.functions : k => f if f.access.kms }
  url_owners = { for k, f in var.functions : k => f if f.access.sign_urls }
}

# ---------------------------------------------------------------------------------------------
# Identities
# ---------------------------------------------------------------------------------------------

resource "google_service_account" "runtime" {
  for_each = var.functions

  project      = var.project_id
  account_id   = local.account_ids[each.key]
  display_name = "Function ${each.key}"
  description  = "Runtime identity of the ${each.key} function; holds only what that function needs."
}

resource "google_service_account" "build" {
  project      = var.project_id
  account_id   = "${var.name_prefix}-fn-build"
  display_name = "Function builds"
  description  = "Runs the Cloud Build builds that turn function archives into images."
}

resource "google_service_account" "push_invoker" {
  project      = var.project_id
  account_id   = "${var.name_prefix}-push-invoker"
  display_name = "Pub/Sub push invoker"
  description  = "Identity in the OIDC token of Pub/Sub push requests to event functions."
}

resource "google_project_iam_member" "runtime" {
  for_each = local.project_grants

  project = var.project_id
  role    = each.value.role
  member  = "serviceAccount:${google_service_account.runtime[each.value.function].email}"
}

resource "google_secret_manager_secret_iam_member" "runtime_read" {
  for_each = local.secret_reads

  project = var.project_id
  # Indexing available_secrets (not the bare id) orders this grant after the secret exists.
  secret_id = var.available_secrets[index(var.available_secrets, each.value.secret)]
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.runtime[each.value.function].email}"
}

resource "google_secret_manager_secret_iam_member" "runtime_rotate" {
  for_each = local.secret_rotations

  project   = var.project_id
  secret_id = var.available_secrets[index(var.available_secrets, each.value.secret)]
  role      = each.value.role
  member    = "serviceAccount:${google_service_account.runtime[each.value.function].email}"
}

resource "google_secret_manager_secret_iam_member" "runtime_watch" {
  for_each = local.secret_watches

  project   = var.project_id
  secret_id = var.available_secrets[index(var.available_secrets, each.value.secret)]
  role      = "roles/secretmanager.viewer"
  member    = "serviceAccount:${google_service_account.runtime[each.value.function].email}"
}

resource "google_pubsub_topic_iam_member" "runtime_publish" {
  for_each = local.publishes

  project = var.project_id
  topic   = var.topic_ids[each.value.topic]
  role    = "roles/pubsub.publisher"
  member  = "serviceAccount:${google_service_account.runtime[each.value.function].email}"
}

resource "google_storage_bucket_iam_member" "runtime" {
  for_each = local.bucket_grants

  bucket = each.value.bucket
  role   = each.value.role
  member = "serviceAccount:${google_service_account.runtime[each.value.function].email}"
}

resource "google_kms_crypto_key_iam_member" "runtime" {
  for_each = local.kms_users

  crypto_key_id = var.app_kms_key_id
  role          = "roles/cloudkms.cryptoKeyEncrypterDecrypter"
  member        = "serviceAccount:${google_service_account.runtime[each.key].email}"
}

# Signed URLs without a key file: the function signs through the IAM signBlob API as itself.
resource "google_service_account_iam_member" "runtime_sign_self" {
  for_each = local.url_owners

  service_account_id = google_service_account.runtime[each.key].name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = "serviceAccount:${google_service_account.runtime[each.key].email}"
}

# ---------------------------------------------------------------------------------------------
# Builds
# ---------------------------------------------------------------------------------------------

resource "google_artifact_registry_repository" "functions" {
  project       = var.project_id
  location      = var.region
  repository_id = "${var.name_prefix}-functions"
  description   = "Images built from the function archives."
  format        = "DOCKER"
  labels        = var.labels

  cleanup_policy_dry_run = false

  cleanup_policies {
    id     = "keep-recent"
    action = "KEEP"
    most_recent_versions {
      keep_count = 10
    }
  }

  cleanup_policies {
    id     = "delete-old"
    action = "DELETE"
    condition {
      older_than = "2592000s"
    }
  }
}

resource "google_artifact_registry_repository_iam_member" "build_writer" {
  project    = var.project_id
  location   = google_artifact_registry_repository.functions.location
  repository = google_artifact_registry_repository.functions.name
  role       = "roles/artifactregistry.writer"
  member     = "serviceAccount:${google_service_account.build.email}"
}

resource "google_project_iam_member" "build_logs" {
  project = var.project_id
  role    = "roles/logging.logWriter"
  member  = "serviceAccount:${google_service_account.build.email}"
}

# The build reads our archive and the staging copy Cloud Functions makes in its own
# gcf-v2-sources-* bucket, which does not exist before the first deployment: a condition on the
# bucket name covers both without opening the media buckets.
resource "google_project_iam_member" "build_sources" {
  project = var.project_id
  role    = "roles/storage.objectViewer"
  member  = "serviceAccount:${google_service_account.build.email}"

  condition {
    title       = "function-sources-only"
    description = "Function source archives only."
    expression  = "resource.name.startsWith(\"projects/_/buckets/${var.source_bucket}\") || resource.name.startsWith(\"projects/_/buckets/gcf-v2-sources-\")"
  }
}

# ---------------------------------------------------------------------------------------------
# Functions
# ---------------------------------------------------------------------------------------------

resource "google_cloudfunctions2_function" "this" {
  for_each = var.functions

  project     = var.project_id
  name        = each.key
  location    = var.region
  description = each.value.description
  labels      = merge(var.labels, { function = each.key, kind = each.value.kind })

  build_config {
    runtime           = var.runtime
    entry_point       = each.value.entry_point
    service_account   = google_service_account.build.id
    docker_repository = google_artifact_registry_repository.functions.id

    source {
      storage_source {
        bucket = var.source_bucket
        object = "functions/${each.key}/${lookup(var.source_versions, each.key, var.source_version)}.zip"
      }
    }
  }

  service_config {
    service_account_email            = google_service_account.runtime[each.key].email
    available_memory                 = each.value.memory
    available_cpu                    = each.value.cpu
    timeout_seconds                  = each.value.timeout_seconds
    max_instance_count               = each.value.max_instances
    min_instance_count               = each.value.min_instances
    max_instance_request_concurrency = each.value.concurrency
    ingress_settings                 = each.value.ingress
    all_traffic_on_latest_revision   = true
    vpc_connector                    = var.vpc_connector_id
    vpc_connector_egress_settings    = var.vpc_egress

    environment_variables = merge(var.environment, {
      AIPROD_FUNCTION   = each.key
      DATABASE_POOL_MAX = tostring(each.value.db_pool_max)
      },
      # The key that wraps sealed columns' data keys, named only to the functions granted it.
      each.value.access.kms ? { AIPROD_KMS_KEY = var.app_kms_key_id } : {},
    )

    dynamic "secret_environment_variables" {
      for_each = local.secret_env[each.key]
      content {
        key        = secret_environment_variables.key
        project_id = var.project_id
        secret     = secret_environment_variables.value
        # "latest" lets a rotated secret reach new instances without a redeploy.
        version = "latest"
      }
    }
  }

  lifecycle {
    precondition {
      condition     = alltrue([for id in values(local.secret_env[each.key]) : contains(var.available_secrets, id)])
      error_message = "Function ${each.key} reads a secret that Terraform does not create; add it to the secrets module."
    }
  }

  # A function must not start before it may read its secrets and write its logs.
  depends_on = [
    google_secret_manager_secret_iam_member.runtime_read,
    google_project_iam_member.runtime,
    google_artifact_registry_repository_iam_member.build_writer,
    google_project_iam_member.build_logs,
    google_project_iam_member.build_sources,
  ]
}

# ---------------------------------------------------------------------------------------------
# Invokers
# ---------------------------------------------------------------------------------------------

resource "google_cloud_run_v2_service_iam_member" "http_public" {
  for_each = var.allow_public_http ? local.http_functions : {}

  project  = var.project_id
  location = var.region
  name     = basename(google_cloudfunctions2_function.this[each.key].service_config[0].service)
  role     = "roles/run.invoker"
  member   = "allUsers"
}

resource "google_cloud_run_v2_service_iam_member" "event_push" {
  for_each = local.event_functions

  project  = var.project_id
  location = var.region
  name     = basename(google_cloudfunctions2_function.this[each.key].service_config[0].service)
  role     = "roles/run.invoker"
  member   = "serviceAccount:${google_service_account.push_invoker.email}"
}
