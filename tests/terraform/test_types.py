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


def _world_rule(cidr_blocks: str, group: str = "aws_security_group.g.id", name: str = "r",
                for_each: str | None = None) -> str:
    """An SSH ingress rule of ``group`` from ``cidr_blocks`` (HCL)."""
    each = f"for_each = {for_each}\n      " if for_each else ""
    return f"""
    resource "aws_security_group_rule" "{name}" {{
      {each}type              = "ingress"
      from_port         = 22
      to_port           = 22
      protocol          = "tcp"
      security_group_id = {group}
      cidr_blocks       = {cidr_blocks}
    }}
    """


def _guarded(name: str, cidr_blocks: str, for_each: str | None = None) -> str:
    """A security group ``name`` and its SSH rule (HCL)."""
    return (f'resource "aws_security_group" "{name}" {{ name = "{name}" }}\n'
            + _world_rule(cidr_blocks, f"aws_security_group.{name}.id", name, for_each))


def test_try_does_not_move_past_a_value_known_only_at_apply(report: Any) -> None:
    # Terraform's try() is unknown while an argument depends on what apply knows: the
    # fallback may never be used, so neither a pass (null) nor a fail (world-open) is known.
    out = report("""
    data "aws_availability_zones" "available" {}
    locals {
      azs   = slice(data.aws_availability_zones.available.names, 0, 3)
      rules = { app = { cidrs = [for k, v in local.azs : cidrsubnet("10.0.0.0/16", 8, k)] } }
    }
    resource "aws_subnet" "private" {
      count      = length(data.aws_availability_zones.available.names)
      cidr_block = cidrsubnet("10.0.0.0/16", 8, count.index)
    }
    """ + _guarded("quiet", "try(each.value.cidrs, null)", for_each="local.rules")
        + _guarded("loud", 'try(each.value.cidrs, ["0.0.0.0/0"])', for_each="local.rules")
        + _guarded("counted", "try(aws_subnet.private[*].cidr_block, null)"))
    assert findings(out, "sg-no-world-admin") == [
        ("unknown", "counted"), ("unknown", "loud"), ("unknown", "quiet")]
    reasons = {f["message"] for f in out["findings"] if f["policy"] == "sg-no-world-admin"}
    assert all("at plan time, not offline" in r for r in reasons), reasons


def test_a_whole_resource_held_in_a_local_is_that_resource(report: Any) -> None:
    # cloudposse/security-group: local.created_security_group picks the group, .id later.
    out = report("""
    variable "create_before_destroy" {
      default = true
    }
    resource "aws_security_group" "ssh" {
      count       = 1
      name_prefix = "ssh-"
    }
    resource "aws_security_group" "other" {
      count = var.create_before_destroy ? 0 : 1
      name  = "ssh"
    }
    locals {
      created = var.create_before_destroy ? aws_security_group.ssh[0] : aws_security_group.other[0]
    }
    """ + _world_rule('["0.0.0.0/0"]', "local.created.id", "ssh_world"))
    # The rule is the first group's, and no group is made up from the expression's text.
    assert findings(out, "sg-no-world-admin") == [("fail", "aws_security_group.ssh[0]")]


def test_a_dynamic_blocks_iterator_may_be_passed_whole(report: Any) -> None:
    # terraform-aws-vpc's default security group: lookup(ingress.value, "cidr_blocks", "").
    out = report("""
    variable "rules" {
      default = [{ from_port = 22, to_port = 22, protocol = "tcp", cidr_blocks = "0.0.0.0/0" }]
    }
    resource "aws_security_group" "lookup" {
      name = "lookup"
      dynamic "ingress" {
        for_each = var.rules
        content {
          from_port   = lookup(ingress.value, "from_port", 0)
          to_port     = lookup(ingress.value, "to_port", 0)
          protocol    = lookup(ingress.value, "protocol", "-1")
          cidr_blocks = compact(split(",", lookup(ingress.value, "cidr_blocks", "")))
        }
      }
    }
    """)
    assert findings(out, "sg-no-world-admin") == [("fail", "lookup")]


def test_try_does_not_move_past_an_instance_or_a_module_output_known_at_apply(
        report: Any) -> None:
    # each.value of a for_each read from a data source, and an output of a module whose
    # for_each is: both known at apply, so try() is unknown, not its world-open fallback.
    each = report("""
    data "aws_ssm_parameter" "rules" { name = "x" }
    resource "aws_security_group" "g" { name = "g" }
    """ + _world_rule('try(each.value.cidrs, ["0.0.0.0/0"])',
                      for_each="jsondecode(data.aws_ssm_parameter.rules.value)"))
    assert findings(each, "sg-no-world-admin") == [("unknown", "g")]
    module = report({"tf/main.tf": """
    data "aws_ssm_parameter" "keys" { name = "x" }
    module "m" {
      source   = "./m"
      for_each = toset(jsondecode(data.aws_ssm_parameter.keys.value))
    }
    resource "aws_security_group" "g" { name = "g" }
    """ + _world_rule('try(module.m["a"].cidrs, ["0.0.0.0/0"])'),
        "tf/m/main.tf": 'output "cidrs" { value = ["10.0.0.0/8"] }'})
    assert findings(module, "sg-no-world-admin") == [("unknown", "g")]


def test_a_whole_resource_in_a_local_is_indexed_and_read_as_declared(report: Any) -> None:
    out = report("""
    resource "aws_security_group" "ssh" {
      count = 1
      name  = "ssh"
    }
    locals { all = aws_security_group.ssh }
    """ + _world_rule('["0.0.0.0/0"]', "local.all[0].id"))
    assert findings(out, "sg-no-world-admin") == [("fail", "ssh")]  # no made-up group
    db = report("""
    resource "aws_security_group" "g" { name = "g" }
    resource "aws_db_instance" "db" {
      identifier             = "db"
      port                   = 5433
      vpc_security_group_ids = [aws_security_group.g.id]
    }
    locals { db = aws_db_instance.db }
    resource "aws_security_group_rule" "r" {
      type              = "ingress"
      from_port         = local.db.port
      to_port           = local.db.port
      protocol          = "tcp"
      security_group_id = aws_security_group.g.id
      cidr_blocks       = ["0.0.0.0/0"]
    }
    """)
    # The port the database declares (5433), read through the local: world-open.
    assert ("fail", "db") in findings(db, "db-not-public")
