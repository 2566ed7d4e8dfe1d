locals {
  # "chess-ai-prod": the name the runbook uses for the cluster and the database.
  name = "${var.project}-${var.environment}"

  common_tags = {
    Project     = var.project
    Environment = var.environment
    ManagedBy   = "terraform"
    Owner       = "platform-team"
  }
}
