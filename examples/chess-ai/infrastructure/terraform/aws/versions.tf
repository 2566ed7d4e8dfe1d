terraform {
  required_version = ">= 1.5.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.0"
    }
  }
}

provider "aws" {
  region = var.region

  # Tag everything this stack creates, so cost and ownership are traceable.
  default_tags {
    tags = local.common_tags
  }
}
