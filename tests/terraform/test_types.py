"""What Terraform's conversion and errors decide before any check: optional() object
attributes, try() past an instance that does not exist, `!= null` on a known collection,
and why a resource's instances are not known."""

from __future__ import annotations

from typing import Any

from auditor.unknown import Unknown
from tests.terraform.conftest import Scan, findings, one

RULES = """
variable "rules" {
  type = map(object({
    cidr_ipv4   = optional(string)
    from_port   = optional(number)
    ip_protocol = optional(string, "tcp")
    tags        = optional(map(string), {})
  }))
  default = { world = { cidr_ipv4 = "0.0.0.0/0", from_port = 22 } }
}
resource "aws_security_group" "this" {
  name = "x"
}
resource "aws_vpc_security_group_ingress_rule" "this" {
  for_each          = var.rules
  security_group_id = aws_security_group.this.id
  cidr_ipv4         = each.value.cidr_ipv4
  from_port         = each.value.from_port
  to_port           = each.value.from_port
  ip_protocol       = each.value.ip_protocol
}
"""


def test_optional_attributes_take_their_default(report: Any) -> None:
    assert findings(report(RULES), "sg-no-world-admin") == [("fail", "x")]  # was unknown


def test_try_moves_past_an_instance_that_does_not_exist(scan: Scan) -> None:
    out = scan("""
    resource "aws_security_group" "named" {
      count = 0
      name  = "db"
    }
    resource "aws_security_group" "prefixed" {
      count       = 1
      name_prefix = "db-"
    }
    resource "aws_db_instance" "db" {
      identifier = "db"
      vpc_security_group_ids = [try(aws_security_group.named[0].id,
                                    aws_security_group.prefixed[0].id)]
    }
    """)
    groups = one(out.resources, "DBInstance", "db").body["vpc_security_group_ids"]
    assert groups == ["aws_security_group.prefixed[0]"]  # the group's identity


def test_a_known_map_is_never_null(report: Any) -> None:
    out = report("""
    variable "office_cidr" {}
    locals {
      rules = {
        office = { cidr = var.office_cidr, port = 443 }
        world  = { cidr = "0.0.0.0/0", port = 22 }
      }
    }
    resource "aws_security_group" "this" {
      name = "x"
    }
    resource "aws_vpc_security_group_ingress_rule" "this" {
      for_each          = { for k, v in local.rules : k => v if local.rules != null }
      security_group_id = aws_security_group.this.id
      cidr_ipv4         = each.value.cidr
      from_port         = each.value.port
      to_port           = each.value.port
      ip_protocol       = "tcp"
    }
    """)
    assert findings(out, "sg-no-world-admin") == [("fail", "x")]


def test_an_unknown_for_each_says_why(scan: Scan) -> None:
    out = scan("""
    variable "groups" {}
    resource "aws_security_group" "this" {
      for_each = var.groups
      name     = each.key
    }
    """)
    [group] = out.resources
    name = group.body["name"]
    assert isinstance(name, Unknown)
    assert "variable groups has no default" in name.reason  # not "only known per instance"
