resource "google_pubsub_topic" "this" {
  for_each = toset(var.topics)

  project                    = var.project_id
  name                       = each.key
  message_retention_duration = var.message_retention
  labels                     = var.labels
}

resource "google_pubsub_topic" "dead_letter" {
  for_each = toset(var.topics)

  project                    = var.project_id
  name                       = "${each.key}-dead-letter"
  message_retention_duration = var.message_retention
  labels                     = merge(var.labels, { "dead-letter" = "true" })
}

# A topic without a subscription drops what it receives: this keeps dead letters until someone
# looks at them (docs/runbooks/dead-letter-messages.md) and gives the alert something to count.
resource "google_pubsub_subscription" "dead_letter" {
  for_each = toset(var.topics)

  project                    = var.project_id
  name                       = "${each.key}-dead-letter-sub"
  topic                      = google_pubsub_topic.dead_letter[each.key].id
  ack_deadline_seconds       = 60
  message_retention_duration = var.message_retention
  retain_acked_messages      = false
  labels                     = merge(var.labels, { "dead-letter" = "true" })

  expiration_policy {
    ttl = ""
  }
}

# One push subscription per event function, no Eventarc: only a subscription we own can carry
# a dead-letter policy. The path makes the functions-framework turn the push envelope into a
# CloudEvent.
resource "google_pubsub_subscription" "push" {
  for_each = var.event_functions

  project                    = var.project_id
  name                       = "${each.key}-push"
  topic                      = google_pubsub_topic.this[each.value.topic].id
  ack_deadline_seconds       = each.value.ack_deadline_seconds
  message_retention_duration = var.message_retention
  labels                     = merge(var.labels, { function = each.key })

  push_config {
    push_endpoint = "${var.function_uris[each.key]}/projects/${var.project_id}/topics/${each.value.topic}"

    oidc_token {
      service_account_email = var.invoker_service_account
      audience              = var.function_uris[each.key]
    }
  }

  retry_policy {
    minimum_backoff = "${each.value.min_backoff_seconds}s"
    maximum_backoff = "${each.value.max_backoff_seconds}s"
  }

  dead_letter_policy {
    dead_letter_topic     = google_pubsub_topic.dead_letter[each.value.topic].id
    max_delivery_attempts = each.value.max_delivery_attempts
  }

  expiration_policy {
    ttl = ""
  }

  depends_on = [
    google_pubsub_topic_iam_member.dead_letter_publisher,
    google_service_account_iam_member.pubsub_token_creator,
  ]
}

# Dead-lettering is done by the Pub/Sub service agent: it must publish to the dead-letter topic
# and acknowledge (subscribe) on the source subscription.
resource "google_pubsub_topic_iam_member" "dead_letter_publisher" {
  for_each = toset(var.topics)

  project = var.project_id
  topic   = google_pubsub_topic.dead_letter[each.key].name
  role    = "roles/pubsub.publisher"
  member  = "serviceAccount:${var.pubsub_service_agent}"
}

resource "google_pubsub_subscription_iam_member" "dead_letter_subscriber" {
  for_each = var.event_functions

  project      = var.project_id
  subscription = google_pubsub_subscription.push[each.key].name
  role         = "roles/pubsub.subscriber"
  member       = "serviceAccount:${var.pubsub_service_agent}"
}

# Pub/Sub mints the push OIDC token as the invoker account.
resource "google_service_account_iam_member" "pubsub_token_creator" {
  service_account_id = "projects/${var.project_id}/serviceAccounts/${var.invoker_service_account}"
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = "serviceAccount:${var.pubsub_service_agent}"
}
