"""count and for_each expanded as Terraform does: one resource per instance, addressed
``aws_x.y[0]`` / ``aws_x.y["a"]``, each evaluated with its own count.index or
each.key/each.value; references to one instance resolve to it."""

from __future__ import annotations

from typing import Any

from auditor.unknown import Unknown
from tests.terraform.conftest import Scan, findings


def _by_address(out: Any, kind: str) -> dict[str, dict[str, Any]]:
    return {r.address: r.body for r in out.resources if r.kind == kind}


def test_count_index_over_a_known_list(scan: Scan) -> None:
    out = scan("""
    variable "names" { default = ["web", "worker"] }
    resource "aws_security_group" "app" {
      count = length(var.names)
      name  = "app-${var.names[count.index]}"
    }
    """)
    groups = _by_address(out, "SecurityGroup")
    assert {a: b["name"] for a, b in groups.items()} == {
        "aws_security_group.app[0]": "app-web", "aws_security_group.app[1]": "app-worker"}


def test_for_each_over_a_map_judges_each_database(report: Any) -> None:
    out = report("""
    variable "dbs" {
      default = {
        orders  = { retention = 1 }
        billing = { retention = 14 }
      }
    }
    resource "aws_db_instance" "this" {
      for_each                    = var.dbs
      identifier                  = "shop-${each.key}"
      engine                      = "postgres"
      instance_class              = "db.t4g.micro"
      manage_master_user_password = true
      backup_retention_period     = each.value.retention
    }
    """)
    assert findings(out, "rds-backups") == [("fail", "shop-orders")]
    passed = [p["resource"] for p in out["passed"] if p["policy"] == "rds-backups"]
    assert [(p["name"], p["address"]) for p in passed] == [
        ("shop-billing", 'aws_db_instance.this["billing"]')]


def test_a_create_flag_of_false_makes_no_resource(scan: Scan) -> None:
    out = scan("""
    variable "create" { default = false }
    variable "create_too" { default = true }
    resource "aws_db_instance" "off" {
      count      = var.create ? 1 : 0
      identifier = "off"
    }
    resource "aws_db_instance" "on" {
      count      = var.create_too ? 1 : 0
      identifier = "on"
    }
    """)
    assert list(_by_address(out, "DBInstance")) == ["aws_db_instance.on[0]"]


def test_rules_of_a_set_attach_to_the_instance_they_name(report: Any) -> None:
    out = report("""
    resource "aws_security_group" "edge" {
      count = 2
      name  = "edge-${count.index}"
    }
    resource "aws_security_group_rule" "admin" {
      for_each          = toset(["22", "443"])
      type              = "ingress"
      from_port         = each.value
      to_port           = each.value
      protocol          = "tcp"
      cidr_blocks       = ["0.0.0.0/0"]
      security_group_id = aws_security_group.edge[1].id
    }
    """)
    # SSH to the world on edge-1 only; edge-0 has no rule at all.
    assert findings(out, "sg-no-world-admin") == [("fail", "edge-1")]
    assert [p["resource"]["name"] for p in out["passed"]
            if p["policy"] == "sg-no-world-admin"] == ["edge-0"]


def test_an_instance_refers_to_its_own_twin(report: Any) -> None:
    out = report("""
    resource "aws_security_group" "db" {
      count = 2
      name  = "db-${count.index}"
      ingress {
        from_port   = 5432
        to_port     = 5432
        protocol    = "tcp"
        cidr_blocks = count.index == 0 ? ["10.0.0.0/8"] : ["0.0.0.0/0"]
      }
    }
    resource "aws_db_instance" "db" {
      count                       = 2
      identifier                  = "db-${count.index}"
      engine                      = "postgres"
      instance_class              = "db.t4g.micro"
      manage_master_user_password = true
      vpc_security_group_ids      = [aws_security_group.db[count.index].id]
    }
    """)
    assert findings(out, "db-not-public") == [("fail", "db-1")]


def test_too_many_instances_stay_one_unknown_resource(scan: Scan) -> None:
    out = scan("""
    resource "aws_security_group" "many" {
      count = 100000
      name  = "many"
    }
    """)
    [group] = out.resources
    assert group.address == "aws_security_group.many"
    assert isinstance(group.body["instances"], Unknown)


DYNAMIC = """
variable "rules" {
  default = [{ port = 22, cidr = "0.0.0.0/0" }, { port = 443, cidr = "10.0.0.0/8" }]
}
variable "unknown_rules" {}
resource "aws_security_group" "web" {
  name = "web"
  ingress {
    from_port   = 80
    to_port     = 80
    protocol    = "tcp"
    cidr_blocks = ["10.0.0.0/8"]
  }
  dynamic "ingress" {
    for_each = var.rules
    iterator = rule
    content {
      from_port   = rule.value.port
      to_port     = rule.value.port
      protocol    = "tcp"
      cidr_blocks = [rule.value.cidr]
    }
  }
}
resource "aws_security_group" "later" {
  name = "later"
  dynamic "ingress" {
    for_each = var.unknown_rules
    content {
      from_port   = ingress.value
      to_port     = ingress.value
      protocol    = "tcp"
      cidr_blocks = ["0.0.0.0/0"]
    }
  }
}
"""


def test_dynamic_blocks_are_generated_with_their_lines(scan: Scan, report: Any) -> None:
    web = next(r for r in scan(DYNAMIC).resources if r.name == "web")
    assert [(r["from_port"], r["cidr_blocks"]) for r in web.body["ingress"]] == [
        (80, ["10.0.0.0/8"]), (22, ["0.0.0.0/0"]), (443, ["10.0.0.0/8"])]
    assert str(web.locate(("ingress", 1))) == "tf/main.tf:16"  # the dynamic block's content
    assert str(web.locate(("ingress", 2, "cidr_blocks"))) == "tf/main.tf:20"
    out = report(DYNAMIC)
    # SSH to the world, found through the dynamic block; the other group is not known.
    assert findings(out, "sg-no-world-admin") == [("fail", "web"), ("unknown", "later")]
    [fail] = [f for f in out["findings"] if f["resource"]["name"] == "web"]
    assert fail["location"]["line"] == 16


def test_splats_list_every_instance(report: Any) -> None:
    """The terraform-aws-modules/security-group idiom: whichever group was created."""
    out = report("""
    variable "use_prefix" { default = false }
    resource "aws_security_group" "this" {
      count = var.use_prefix ? 0 : 1
      name  = "bastion"
    }
    resource "aws_security_group" "prefixed" {
      count       = var.use_prefix ? 1 : 0
      name_prefix = "bastion-"
    }
    locals {
      sg_id = concat(aws_security_group.this.*.id, aws_security_group.prefixed[*].id, [""])[0]
    }
    resource "aws_security_group_rule" "ssh" {
      type              = "ingress"
      from_port         = 22
      to_port           = 22
      protocol          = "tcp"
      cidr_blocks       = ["0.0.0.0/0"]
      security_group_id = local.sg_id
    }
    """)
    assert findings(out, "sg-no-world-admin") == [("fail", "bastion")]
