# This module only computes values from the function manifest: it creates no resource and
# needs no provider, which is what lets the test suite evaluate it with a bare
# `terraform apply` and no provider download.
terraform {
  required_version = ">= 1.5.0, < 2.0.0"
}
