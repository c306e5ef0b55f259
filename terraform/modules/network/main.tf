resource "google_compute_network" "this" {
  project                 = var.project_id
  name                    = "${var.name_prefix}-vpc"
  auto_create_subnetworks = false
  routing_mode            = "REGIONAL"
}

resource "google_compute_subnetwork" "this" {
  project                  = var.project_id
  name                     = "${var.name_prefix}-subnet"
  region                   = var.region
  network                  = google_compute_network.this.id
  ip_cidr_range            = var.subnet_cidr
  private_ip_google_access = true

  log_config {
    aggregation_interval = "INTERVAL_5_MIN"
    flow_sampling        = 0.5
    metadata             = "INCLUDE_ALL_METADATA"
  }
}

# Cloud SQL and Memorystore get addresses from this range through VPC peering; neither has a
# public address.
resource "google_compute_global_address" "private_service_access" {
  project       = var.project_id
  name          = "${var.name_prefix}-psa"
  purpose       = "VPC_PEERING"
  address_type  = "INTERNAL"
  prefix_length = var.private_service_access_prefix_length
  network       = google_compute_network.this.id
}

resource "google_service_networking_connection" "private_service_access" {
  network                 = google_compute_network.this.id
  service                 = "servicenetworking.googleapis.com"
  reserved_peering_ranges = [google_compute_global_address.private_service_access.name]
  # Deleting the peering fails while Cloud SQL still uses it; on destroy, leave it to the
  # network deletion.
  deletion_policy = "ABANDON"
}

# The functions reach Cloud SQL and Redis through this connector. Cloud Run functions deployed
# with the Cloud Functions API take a connector (Direct VPC egress is a Cloud Run service
# setting the functions API does not expose).
resource "google_vpc_access_connector" "this" {
  project       = var.project_id
  name          = "${var.name_prefix}-connector"
  region        = var.region
  network       = google_compute_network.this.name
  ip_cidr_range = var.connector_cidr
  machine_type  = var.connector_machine_type
  min_instances = var.connector_min_instances
  max_instances = var.connector_max_instances
}

# Break-glass access for operators: SSH through Identity-Aware Proxy to a temporary VM tagged
# ops-shell (docs/runbooks/README.md), the only way to reach the private-IP database by hand.
# No VM carries the tag unless an operator creates one.
resource "google_compute_firewall" "iap_ssh" {
  project   = var.project_id
  name      = "${var.name_prefix}-allow-iap-ssh"
  network   = google_compute_network.this.id
  direction = "INGRESS"
  priority  = 1000

  allow {
    protocol = "tcp"
    ports    = ["22"]
  }

  source_ranges = ["35.235.240.0/20"]
  target_tags   = ["ops-shell"]
}
