variable "project_id" {
  description = "Project that holds the network."
  type        = string
}

variable "region" {
  description = "Region of the subnet and the Serverless VPC Access connector (the functions' region)."
  type        = string
}

variable "name_prefix" {
  description = "Prefix of every network resource name."
  type        = string
}

variable "subnet_cidr" {
  description = "Primary range of the regional subnet."
  type        = string
  default     = "10.10.0.0/24"

  validation {
    condition     = can(cidrhost(var.subnet_cidr, 0))
    error_message = "subnet_cidr must be a CIDR range."
  }
}

variable "connector_cidr" {
  description = "The /28 the Serverless VPC Access connector uses. Must not overlap the subnet or the private service access range."
  type        = string
  default     = "10.8.0.0/28"

  validation {
    condition     = can(cidrhost(var.connector_cidr, 0)) && endswith(var.connector_cidr, "/28")
    error_message = "connector_cidr must be a /28 CIDR range."
  }
}

variable "private_service_access_prefix_length" {
  description = "Size of the range reserved for Google-managed services (Cloud SQL, Memorystore) reached through VPC peering. /16 leaves room for replicas, restores and a second Redis."
  type        = number
  default     = 16

  validation {
    condition     = var.private_service_access_prefix_length >= 8 && var.private_service_access_prefix_length <= 24
    error_message = "private_service_access_prefix_length must be between 8 and 24."
  }
}

variable "connector_machine_type" {
  description = "Machine type of the connector instances."
  type        = string
  default     = "e2-micro"

  validation {
    condition     = contains(["f1-micro", "e2-micro", "e2-standard-4"], var.connector_machine_type)
    error_message = "connector_machine_type must be f1-micro, e2-micro or e2-standard-4."
  }
}

variable "connector_min_instances" {
  description = "Minimum connector instances (at least 2)."
  type        = number
  default     = 2

  validation {
    condition     = var.connector_min_instances >= 2 && var.connector_min_instances <= 9
    error_message = "connector_min_instances must be between 2 and 9."
  }
}

variable "connector_max_instances" {
  description = "Maximum connector instances (at most 10). Connector instances never scale back in, so keep this modest."
  type        = number
  default     = 4

  validation {
    condition     = var.connector_max_instances >= 3 && var.connector_max_instances <= 10
    error_message = "connector_max_instances must be between 3 and 10."
  }
}
