resource "aws_db_subnet_group" "main" {
  name        = "${local.name}-db"
  description = "Private subnets of the chess-ai database"
  subnet_ids  = var.private_subnet_ids
}

# Named without the environment: the runbook modifies "chess-ai-params" by name.
resource "aws_db_parameter_group" "main" {
  name        = "${var.project}-params"
  family      = "postgres15"
  description = "chess-ai PostgreSQL 15 parameters"

  # Static parameter: takes effect only after the instance reboots.
  parameter {
    name         = "max_connections"
    value        = "200"
    apply_method = "pending-reboot"
  }

  # Log statements slower than 500 ms (the latency SLO) for the slow-request runbook.
  parameter {
    name  = "log_min_duration_statement"
    value = "500"
  }

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_db_instance" "main" {
  identifier     = local.name
  engine         = "postgres"
  engine_version = "15.7"
  instance_class = var.db_instance_class

  db_name  = "chessai"
  username = "chessai_admin"
  port     = 5432
  # Master password generated and stored by RDS in Secrets Manager: nothing in state or code.
  manage_master_user_password = true

  allocated_storage     = var.db_allocated_storage
  max_allocated_storage = var.db_max_allocated_storage
  storage_type          = "gp3"
  storage_encrypted     = true

  db_subnet_group_name   = aws_db_subnet_group.main.name
  vpc_security_group_ids = [aws_security_group.db.id]
  parameter_group_name   = aws_db_parameter_group.main.name
  publicly_accessible    = false

  # Standby in a second AZ only where the cost is justified.
  multi_az = var.environment == "prod"

  backup_retention_period = 3
  backup_window           = "03:00-04:00"
  maintenance_window      = "sun:04:30-sun:05:30"
  copy_tags_to_snapshot   = true

  deletion_protection       = true
  skip_final_snapshot       = false
  final_snapshot_identifier = "${local.name}-final"

  performance_insights_enabled = true
  auto_minor_version_upgrade   = true
  # Parameter and class changes wait for the maintenance window unless forced.
  apply_immediately = false

  tags = {
    Name = local.name
  }
}
