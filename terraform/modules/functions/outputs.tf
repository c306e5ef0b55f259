output "function_names" {
  description = "Deployed function names."
  value       = keys(google_cloudfunctions2_function.this)
}

output "uris" {
  description = "run.app URI of every function, by name."
  value       = { for k, f in google_cloudfunctions2_function.this : k => f.service_config[0].uri }
}

# Pub/Sub must not push before the invoker may call the function.
output "event_uris" {
  description = "run.app URI of every event function, by name, once the push invoker may call it."
  value       = { for k, f in google_cloudfunctions2_function.this : k => f.service_config[0].uri if var.functions[k].kind == "event" }
  depends_on  = [google_cloud_run_v2_service_iam_member.event_push]
}

output "service_names" {
  description = "Cloud Run service behind every function, by name."
  value       = { for k, f in google_cloudfunctions2_function.this : k => basename(f.service_config[0].service) }
}

output "service_accounts" {
  description = "Runtime service account email of every function, by name."
  value       = { for k, sa in google_service_account.runtime : k => sa.email }
}

output "push_invoker_email" {
  description = "Service account Pub/Sub push requests authenticate as."
  value       = google_service_account.push_invoker.email
}

output "build_service_account_email" {
  description = "Service account of the function image builds."
  value       = google_service_account.build.email
}
