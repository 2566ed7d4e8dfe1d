# Credentials of the application's database role (not the RDS master user, whose
# password RDS manages itself). The value is written by the rotation Lambda, never
# by Terraform, so no credential ends up in state or in this repository.
resource "aws_secretsmanager_secret" "db" {
  name        = "${var.project}/${var.environment}/database"
  description = "chess-ai application database credentials"

  # Gives time to undo an accidental delete during an incident.
  recovery_window_in_days = 30
}

resource "aws_secretsmanager_secret_rotation" "db" {
  secret_id           = aws_secretsmanager_secret.db.id
  rotation_lambda_arn = var.db_rotation_lambda_arn

  rotation_rules {
    automatically_after_days = 30
  }
}
