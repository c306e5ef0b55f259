output "ip_address" {
  description = "Load balancer address: point the domains' A records here."
  value       = google_compute_global_address.api.address
}

output "url_map_name" {
  description = "Name of the API URL map (the url_map_name label of load balancer metrics)."
  value       = google_compute_url_map.api.name
}

output "forwarding_rule_name" {
  description = "HTTPS forwarding rule (the forwarding_rule_name label of load balancer metrics)."
  value       = google_compute_global_forwarding_rule.https.name
}

output "backend_service_names" {
  description = "Backend service name of every http function, by function name."
  value       = { for k, b in google_compute_backend_service.function : k => b.name }
}

output "security_policy_name" {
  description = "Cloud Armor policy attached to every backend service."
  value       = google_compute_security_policy.api.name
}

output "certificate_name" {
  description = "Managed certificate name (provisioning status: gcloud compute ssl-certificates describe)."
  value       = google_compute_managed_ssl_certificate.api.name
}

output "base_url" {
  description = "Public base URL of the API."
  value       = "https://${var.domains[0]}"
}
