"""for expressions, as Terraform evaluates them: lists and maps, one or two names, a
filter, grouping with ``...``; a map is iterated in key order."""

from __future__ import annotations

from typing import Any

from auditor.unknown import Unknown
from tests.terraform.conftest import Scan, findings, one

RULES = """
variable "rules" {
  default = {
    ssh   = { port = 22, cidr = "0.0.0.0/0" }
    https = { port = 443, cidr = "0.0.0.0/0" }
    pg    = { port = 5432, cidr = "10.0.0.0/8" }
  }
}
variable "later" {}
locals {
  public  = { for k, v in var.rules : k => v if v.cidr == "0.0.0.0/0" }
  ports   = [for r in values(var.rules) : r.port]
  by_cidr = { for k, v in var.rules : v.cidr => k... }
  indexed = [for i, p in ["a", "b"] : "${i}-${p}"]
  unknown = [for x in var.later : x]
}
"""


def _name(scan: Scan, expression: str) -> Any:
    out = scan(RULES + f'resource "aws_lb" "x" {{\n  name = {expression}\n}}\n')
    return one(out.resources, "LoadBalancer", "x").body["name"] if any(
        r.kind == "LoadBalancer" and r.name == "x" for r in out.resources) else (
        out.resources[0].body["name"])


def test_for_expressions_evaluate(scan: Scan) -> None:
    assert _name(scan, 'join(",", local.ports)') == "443,5432,22"  # keys in order
    assert _name(scan, 'join(",", keys(local.public))') == "https,ssh"
    assert _name(scan, 'join(",", local.by_cidr["0.0.0.0/0"])') == "https,ssh"
    assert _name(scan, 'join(",", local.indexed)') == "0-a,1-b"
    unknown = _name(scan, 'join(",", local.unknown)')
    assert isinstance(unknown, Unknown)
    assert "variable later has no default" in unknown.reason


def test_rules_made_by_a_for_expression_are_judged(report: Any) -> None:
    out = report(RULES + """
    resource "aws_security_group" "web" {
      name = "web"
    }
    resource "aws_vpc_security_group_ingress_rule" "this" {
      for_each          = local.public
      security_group_id = aws_security_group.web.id
      from_port         = each.value.port
      to_port           = each.value.port
      ip_protocol       = "tcp"
      cidr_ipv4         = each.value.cidr
    }
    """)
    assert findings(out, "sg-no-world-admin") == [("fail", "web")]


def test_splats_over_values(scan: Scan) -> None:
    splats = """
    variable "list" { default = [{ port = 22 }, { port = 443 }] }
    variable "one" { default = { port = 80 } }
    variable "none" { default = null }
    """
    out = scan(splats + """
    resource "aws_lb" "x" {
      name = join(",", concat(var.list[*].port, var.one[*].port, var.none[*].port))
    }
    """)
    assert one(out.resources, "LoadBalancer", "22,443,80").address == "aws_lb.x"
