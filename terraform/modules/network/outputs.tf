output "network_id" {
  description = "VPC id (projects/<p>/global/networks/<name>)."
  value       = google_compute_network.this.id
}

output "network_name" {
  description = "VPC name."
  value       = google_compute_network.this.name
}

output "subnet_id" {
  description = "Subnet id."
  value       = google_compute_subnetwork.this.id
}

output "private_service_access_range" {
  description = "Name of the allocated range for private service access (Memorystore's reserved_ip_range)."
  value       = google_compute_global_address.private_service_access.name
}

# Consumers of private service access must wait for the peering, not only for the range.
output "private_service_access_network_id" {
  description = "VPC id, available once the private service access peering exists."
  value       = google_compute_network.this.id
  depends_on  = [google_service_networking_connection.private_service_access]
}

output "connector_id" {
  description = "Serverless VPC Access connector id, for the functions' vpc_connector."
  value       = google_vpc_access_connector.this.id
}
