"""Unknown never passes: a rule attached to a group the evaluator could not resolve may be
any group's of its module, so none of them passes on the rules that are visible."""

from __future__ import annotations

from typing import Any

from tests.terraform.conftest import findings

# The terraform-aws-modules/security-group idiom: the group id comes from an expression
# that is not resolved offline (here: a variable the caller does not set).
MODULE = """
variable "ingress_cidr_blocks" { default = ["0.0.0.0/0"] }

resource "aws_security_group" "this" {
  count  = var.use_name_prefix ? 0 : 1
  name   = "bastion"
  vpc_id = "vpc-1"
}

resource "aws_security_group" "this_name_prefix" {
  count       = var.use_name_prefix ? 1 : 0
  name_prefix = "bastion-"
  vpc_id      = "vpc-1"
}

variable "use_name_prefix" { default = false }
variable "security_group_id" {}

locals {
  this_sg_id = var.security_group_id != "" ? var.security_group_id : aws_security_group.this[0].id
}

resource "aws_security_group_rule" "ssh" {
  type              = "ingress"
  from_port         = 22
  to_port           = 22
  protocol          = "tcp"
  cidr_blocks       = var.ingress_cidr_blocks
  security_group_id = local.this_sg_id
}
"""

def _status(report: dict[str, Any], policy: str, name: str) -> str:
    found = [f["status"] for f in report["findings"]
             if f["policy"] == policy and f["resource"]["name"] == name]
    found += ["pass" for p in report["passed"]
              if p["policy"] == policy and p["resource"]["name"] == name]
    assert len(found) == 1, (policy, name, found)
    return found[0]


def test_a_group_does_not_pass_while_a_rule_of_its_module_is_unattached(report: Any) -> None:
    out = report({"tf/main.tf": 'module "sg" {\n  source = "./sg"\n}\n',
                  "tf/sg/main.tf": MODULE})
    # The declared group held no visible rule and passed before.
    assert _status(out, "sg-no-world-admin", "bastion") == "unknown"
    [finding] = [f for f in out["findings"] if f["policy"] == "sg-no-world-admin"
                 and f["resource"]["name"] == "bastion"]
    assert "module.sg.aws_security_group_rule.ssh adds a rule to" in finding["message"]
    assert "it may be this group" in finding["message"]
    # The open rule itself is still reported, on what it names.
    assert ("fail", "module.sg.local.this_sg_id") in findings(out, "sg-no-world-admin")


def test_a_group_in_another_module_is_not_doubted(report: Any) -> None:
    out = report({"tf/main.tf": 'module "sg" {\n  source = "./sg"\n}\n'
                                'module "web" {\n  source = "./web"\n}\n',
                  "tf/sg/main.tf": MODULE,
                  "tf/web/main.tf": 'resource "aws_security_group" "web" {\n  name = "web"\n'
                                    '  ingress {\n    from_port   = 443\n    to_port     = 443\n'
                                    '    protocol    = "tcp"\n'
                                    '    cidr_blocks = ["0.0.0.0/0"]\n  }\n}\n'})
    assert _status(out, "sg-no-world-admin", "web") == "pass"


def test_a_resolved_rule_leaves_its_neighbours_judged(report: Any) -> None:
    out = report("""
    resource "aws_security_group" "a" {
      name = "a"
    }
    resource "aws_security_group" "b" {
      name = "b"
    }
    resource "aws_security_group_rule" "ssh" {
      type              = "ingress"
      from_port         = 22
      to_port           = 22
      protocol          = "tcp"
      cidr_blocks       = ["0.0.0.0/0"]
      security_group_id = aws_security_group.a.id
    }
    """)
    assert _status(out, "sg-no-world-admin", "a") == "fail"
    assert _status(out, "sg-no-world-admin", "b") == "pass"


def test_a_database_behind_such_a_group_is_not_called_private(report: Any) -> None:
    database = """
    resource "aws_db_instance" "db" {
      identifier                  = "db"
      engine                      = "postgres"
      instance_class              = "db.t4g.micro"
      manage_master_user_password = true
      vpc_security_group_ids      = [aws_security_group.this[0].id]
    }
    """
    out = report({"tf/main.tf": 'module "sg" {\n  source = "./sg"\n}\n',
                  "tf/sg/main.tf": MODULE + database})
    assert _status(out, "db-not-public", "db") == "unknown"
    assert _status(out, "db-ingress-from-app", "db") == "unknown"


def test_a_source_group_not_known_offline_may_be_the_apps(report: Any) -> None:
    """terraform-aws-modules/rds-aurora: referenced_security_group_id from a variable."""
    out = report("""
    variable "app_sg" {}
    resource "aws_security_group" "db" {
      name = "db"
    }
    resource "aws_vpc_security_group_ingress_rule" "app" {
      security_group_id            = aws_security_group.db.id
      referenced_security_group_id = var.app_sg
      from_port                    = 5432
      to_port                      = 5432
      ip_protocol                  = "tcp"
    }
    resource "aws_db_instance" "db" {
      identifier                  = "db"
      engine                      = "postgres"
      instance_class              = "db.t4g.micro"
      manage_master_user_password = true
      vpc_security_group_ids      = [aws_security_group.db.id]
    }
    """)
    assert _status(out, "db-ingress-from-app", "db") == "unknown"  # was a fail
