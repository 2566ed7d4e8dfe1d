# Traffic path: internet -> ALB (443) -> pods (8000) -> RDS (5432).
# Each hop only admits the security group of the previous one.

resource "aws_security_group" "alb" {
  name        = "${local.name}-alb"
  description = "Public HTTPS entry point of chess-ai"
  vpc_id      = var.vpc_id

  ingress {
    description = "HTTPS from the internet"
    from_port   = 443
    to_port     = 443
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }

  # Kept only to redirect plain HTTP to HTTPS (see alb.tf).
  ingress {
    description = "HTTP from the internet (redirected to HTTPS)"
    from_port   = 80
    to_port     = 80
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }

  # VPC CIDR rather than the app SG: referencing it here would form a cycle
  # with the app SG's ingress rule below.
  egress {
    description = "Forward to targets inside the VPC"
    from_port   = 8000
    to_port     = 8000
    protocol    = "tcp"
    cidr_blocks = [var.vpc_cidr]
  }

  tags = {
    Name = "${local.name}-alb"
  }
}

# Attached to the chess-ai pods through a SecurityGroupPolicy (security groups for pods).
resource "aws_security_group" "app" {
  name        = "${local.name}-app"
  description = "chess-ai application pods"
  vpc_id      = var.vpc_id

  ingress {
    description     = "Application port from the ALB"
    from_port       = 8000
    to_port         = 8000
    protocol        = "tcp"
    security_groups = [aws_security_group.alb.id]
  }

  # Pods call RDS, Secrets Manager, S3 and CloudWatch Logs.
  egress {
    description = "All outbound"
    from_port   = 0
    to_port     = 0
    protocol    = "-1"
    cidr_blocks = ["0.0.0.0/0"]
  }

  tags = {
    Name = "${local.name}-app"
  }
}

resource "aws_security_group" "db" {
  name        = "${local.name}-db"
  description = "chess-ai PostgreSQL"
  vpc_id      = var.vpc_id

  ingress {
    description     = "PostgreSQL from the application pods only"
    from_port       = 5432
    to_port         = 5432
    protocol        = "tcp"
    security_groups = [aws_security_group.app.id]
  }

  # No egress block: Terraform removes AWS's default allow-all egress,
  # the database never initiates connections.

  tags = {
    Name = "${local.name}-db"
  }
}

# Bastion for break-glass access. Its rules are standalone resources so other
# stacks can attach rules to this group without fighting over inline rules.
resource "aws_security_group" "bastion" {
  name        = "${local.name}-bastion"
  description = "Break-glass SSH bastion"
  vpc_id      = var.vpc_id

  tags = {
    Name = "${local.name}-bastion"
  }
}

resource "aws_security_group_rule" "bastion_ssh" {
  type              = "ingress"
  description       = "SSH to the bastion"
  security_group_id = aws_security_group.bastion.id
  from_port         = 22
  to_port           = 22
  protocol          = "tcp"
  cidr_blocks       = ["0.0.0.0/0"]
}

resource "aws_security_group_rule" "bastion_egress" {
  type              = "egress"
  description       = "Bastion to anything inside the VPC"
  security_group_id = aws_security_group.bastion.id
  from_port         = 0
  to_port           = 0
  protocol          = "-1"
  cidr_blocks       = [var.vpc_cidr]
}
