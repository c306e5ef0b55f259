variable "project_id" {
  description = "Project that holds the jobs."
  type        = string
}

variable "region" {
  description = "Region of the Cloud Scheduler jobs."
  type        = string
}

variable "name_prefix" {
  description = "Prefix of the job names."
  type        = string
}

variable "maintenance_topic_id" {
  description = "Id of the maintenance topic the sweeper subscribes to."
  type        = string
}

variable "maintenance_schedule" {
  description = "Cron schedule of the sweeper tick. Every minute bounds how long an expired job lease or an unpublished outbox row waits."
  type        = string
  default     = "* * * * *"

  validation {
    condition     = length(split(" ", var.maintenance_schedule)) == 5
    error_message = "maintenance_schedule must be a five-field cron expression."
  }
}

variable "time_zone" {
  description = "Time zone of the schedules."
  type        = string
  default     = "Etc/UTC"
}
