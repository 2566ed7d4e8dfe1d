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
