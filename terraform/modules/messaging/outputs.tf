output "topic_ids" {
  description = "Topic ids (projects/<p>/topics/<name>), by name."
  value       = { for k, t in google_pubsub_topic.this : k => t.id }
}

output "dead_letter_topic_ids" {
  description = "Dead-letter topic ids, by source topic name."
  value       = { for k, t in google_pubsub_topic.dead_letter : k => t.id }
}

output "push_subscription_names" {
  description = "Push subscription names, by function name."
  value       = { for k, s in google_pubsub_subscription.push : k => s.name }
}

output "dead_letter_subscription_names" {
  description = "Subscriptions that hold dead letters, by source topic name."
  value       = { for k, s in google_pubsub_subscription.dead_letter : k => s.name }
}
