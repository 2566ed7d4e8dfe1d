"""The Terraform source resolves what can be known offline and keeps file:line."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from auditor.config import load
from auditor.models import Resource
from auditor.sources import terraform
from auditor.unknown import Unknown
from tests.conftest import EXAMPLE

MAIN_TF = """
variable "environment" {
  default = "dev"
}
variable "retention" {}
locals {
  name = "shop-${var.environment}"
}
resource "aws_security_group" "app" {
  name = "${local.name}-app"
}
resource "aws_security_group" "db" {
  name = "${local.name}-db"
  ingress {
    from_port       = 5432
    to_port         = 5432
    protocol        = "tcp"
    security_groups = [aws_security_group.app.id]
  }
}
resource "aws_security_group_rule" "ssh" {
  type              = "ingress"
  security_group_id = aws_security_group.db.id
  from_port         = 22
  to_port           = 22
  protocol          = "tcp"
  cidr_blocks       = ["0.0.0.0/0"]
}
resource "aws_db_parameter_group" "main" {
  name   = "shop-params"
  family = "postgres15"
  parameter {
    name  = "max_connections"
    value = "200"
  }
}
resource "aws_db_instance" "main" {
  identifier              = local.name
  multi_az                = var.environment == "prod"
  backup_retention_period = var.retention
  parameter_group_name    = aws_db_parameter_group.main.name
  vpc_security_group_ids  = [aws_security_group.db.id]
}
resource "aws_lb" "main" {
  name = "${local.name}-alb"
}
resource "aws_wafv2_web_acl_association" "alb" {
  resource_arn = aws_lb.main.arn
  web_acl_arn  = "arn:aws:wafv2:acl"
}
resource "aws_lb" "disabled" {
  count = var.environment == "prod" ? 0 : 0
  name  = "never"
}
"""


def _config(project: Callable[[dict[str, str]], Path], tf: str, extra: str = "") -> object:
    root = project({
        "tf/main.tf": tf,
        "prod.tfvars": 'retention = 14\n',
        "auditor.yaml": f"""
            service: shop
            environments:
              prod:
                terraform:
                  dirs: [tf]
                  var_files: [prod.tfvars]
                  vars: {{environment: prod}}
              {extra}
            """,
    })
    return load(str(root))


def _by_kind(resources: list[Resource], kind: str) -> dict[str, Resource]:
    return {r.name: r for r in resources if r.kind == kind}


def test_resolves_variables_locals_and_references(
        project: Callable[[dict[str, str]], Path]) -> None:
    config = _config(project, MAIN_TF)
    out = terraform.collect(config, "prod", config.environments["prod"])  # type: ignore[attr-defined]
    assert out.problems == []
    db = _by_kind(out.resources, "DBInstance")["shop-prod"]  # vars beat the default
    assert db.body["multi_az"] is True
    assert db.body["backup_retention_period"] == 14  # from the var file
    assert db.body["parameter_group_name"] == "shop-params"  # a declared attribute resolves
    assert db.body["vpc_security_group_ids"] == ["shop-prod-db"]  # .id -> the group
    groups = _by_kind(out.resources, "SecurityGroup")
    rules = groups["shop-prod-db"].body["ingress"]
    assert rules[0]["security_groups"] == ["shop-prod-app"]
    assert rules[1]["cidr_blocks"] == ["0.0.0.0/0"] and rules[1]["from_port"] == 22
    params = _by_kind(out.resources, "DBParameterGroup")["shop-params"]
    assert params.body["parameters"] == {"max_connections": "200"}
    lbs = _by_kind(out.resources, "LoadBalancer")
    assert list(lbs) == ["shop-prod-alb"]  # count = 0 is not declared at all
    assert lbs["shop-prod-alb"].body["web_acl"] == "arn:aws:wafv2:acl"
    assert out.names["db_identifier"] == "shop-prod"
    assert out.names["parameter_group"] == "shop-params"


def test_every_reported_attribute_has_file_and_line(
        project: Callable[[dict[str, str]], Path]) -> None:
    config = _config(project, MAIN_TF)
    out = terraform.collect(config, "prod", config.environments["prod"])  # type: ignore[attr-defined]
    db = _by_kind(out.resources, "DBInstance")["shop-prod"]
    assert str(db.locate(("multi_az",))) == "tf/main.tf:38"
    assert str(db.location) == "tf/main.tf:36"
    sg = _by_kind(out.resources, "SecurityGroup")["shop-prod-db"]
    assert str(sg.locate(("ingress", 0, "from_port"))) == "tf/main.tf:14"
    # A standalone rule folded into its group keeps its own file:line.
    assert str(sg.locate(("ingress", 1))) == "tf/main.tf:20"
    assert str(sg.locate(("ingress", 1, "cidr_blocks"))) == "tf/main.tf:26"
    pg = _by_kind(out.resources, "DBParameterGroup")["shop-params"]
    assert str(pg.locate(("parameters", "max_connections"))) == "tf/main.tf:33"


def test_unresolvable_values_are_unknown_not_guesses(
        project: Callable[[dict[str, str]], Path]) -> None:
    tf = MAIN_TF.replace('multi_az                = var.environment == "prod"',
                         'multi_az                = var.nowhere')
    tf = tf.replace('identifier              = local.name',
                    'identifier              = "shop-${cidrsubnet(var.x, 1, 1)}"')
    root = project({"tf/main.tf": tf, "auditor.yaml": """
        service: shop
        environments:
          prod:
            terraform: {dirs: [tf]}
        """})
    config = load(str(root))
    out = terraform.collect(config, "prod", config.environments["prod"])
    db = next(r for r in out.resources if r.kind == "DBInstance")
    assert db.name == "aws_db_instance.main"  # identity falls back to the address
    assert isinstance(db.body["multi_az"], Unknown)
    assert "nowhere" in db.body["multi_az"].reason
    assert isinstance(db.body["backup_retention_period"], Unknown)  # no default, no tfvars


def test_malformed_hcl_is_a_located_problem_and_other_files_still_load(
        project: Callable[[dict[str, str]], Path]) -> None:
    root = project({
        "tf/good.tf": 'resource "aws_lb" "main" {\n  name = "ok"\n}\n',
        "tf/bad.tf": 'resource "aws_lb" "x" {\n  name = "a"\n  oops = = 3\n}\n',
        "auditor.yaml": "service: s\nenvironments:\n  prod:\n    terraform: {dirs: [tf]}\n",
    })
    config = load(str(root))
    out = terraform.collect(config, "prod", config.environments["prod"])
    (problem,) = out.problems
    assert problem.location.file == "tf/bad.tf" and problem.location.line == 3
    assert [r.name for r in out.resources] == ["ok"]


def test_missing_directory_and_tfvars(project: Callable[[dict[str, str]], Path]) -> None:
    root = project({"auditor.yaml": """
        service: s
        environments:
          prod:
            terraform: {dirs: [nope], var_files: [missing.tfvars]}
        """})
    config = load(str(root))
    out = terraform.collect(config, "prod", config.environments["prod"])
    files = sorted(p.location.file for p in out.problems)
    assert files == ["missing.tfvars", "nope"]


def test_example_terraform() -> None:
    config = load(str(EXAMPLE))
    out = terraform.collect(config, "prod", config.environments["prod"])
    assert out.problems == []
    db = _by_kind(out.resources, "DBInstance")["chess-ai-prod"]
    assert db.body["multi_az"] is True
    assert db.body["parameter_group_name"] == "chess-ai-params"
    ng = _by_kind(out.resources, "Nodegroup")["general"]
    assert ng.body["cluster_name"] == "chess-ai-prod"
    assert out.names["cluster"] == "chess-ai-prod" and out.names["nodegroup"] == "general"


def test_joins_and_dynamic_blocks_never_prove_absence(
        project: Callable[[dict[str, str]], Path]) -> None:
    """A rule built by a dynamic block, or a rotation whose secret is not known here, makes
    the affected attribute unknown rather than "no rules" / "no rotation"."""
    tf = """
    resource "aws_security_group" "db" {
      name = "db"
      dynamic "ingress" {
        for_each = var.rules
        content {
          from_port = ingress.value
          to_port   = ingress.value
          protocol  = "tcp"
        }
      }
    }
    resource "aws_secretsmanager_secret" "db" {
      name = "shop/db"
    }
    resource "aws_secretsmanager_secret_rotation" "db" {
      secret_id           = var.secret_arn
      rotation_lambda_arn = "arn:aws:lambda:rotate"
    }
    resource "aws_lb" "main" {
      name = "shop"
    }
    """
    root = project({"tf/main.tf": tf, "auditor.yaml": """
        service: s
        environments:
          prod:
            terraform: {dirs: [tf]}
        """})
    config = load(str(root))
    out = terraform.collect(config, "prod", config.environments["prod"])
    sg = _by_kind(out.resources, "SecurityGroup")["db"]
    assert isinstance(sg.body["ingress"], Unknown) and "dynamic" in sg.body["ingress"].reason
    assert sg.body["egress"] == []
    secret = _by_kind(out.resources, "SecretsManagerSecret")["shop/db"]
    assert isinstance(secret.body["rotation_enabled"], Unknown)
    assert "web_acl" not in _by_kind(out.resources, "LoadBalancer")["shop"].body
