"""count and for_each: no instance means no resource, a known number one resource per
instance; an unknown number keeps the resource (a check must not miss it) and says the
instances are not known."""

from __future__ import annotations

from auditor.unknown import Unknown
from tests.terraform.conftest import Scan, findings, one

OPEN = """
  ingress {
    from_port   = 22
    to_port     = 22
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
"""
TF = f"""
variable "bastions" {{ default = {{}} }}
variable "n" {{}}
resource "aws_security_group" "bastion" {{
  for_each = var.bastions
  name     = "bastion"
{OPEN}}}
resource "aws_security_group" "count_str" {{
  count = "0"
  name  = "count-str"
{OPEN}}}
resource "aws_security_group" "empty_set" {{
  for_each = toset([])
  name     = "empty-set"
{OPEN}}}
resource "aws_security_group" "two" {{
  count = "2"
  name  = "two"
}}
resource "aws_security_group" "maybe" {{
  count = var.n
  name  = "maybe"
{OPEN}}}
resource "aws_lb" "each" {{
  for_each = data.aws_subnets.all.ids
  name     = "each"
}}
"""


def test_no_instance_means_no_resource(scan: Scan) -> None:
    names = sorted(r.name for r in scan(TF).resources)
    assert names == ["each", "maybe", "two", "two"]  # count = "2": one per instance
    twins = [r for r in scan(TF).resources if r.name == "two"]
    assert [r.address for r in twins] == ["aws_security_group.two[0]",
                                          "aws_security_group.two[1]"]
    assert all("instances" not in r.body for r in twins)


def test_an_unknown_count_keeps_the_resource_and_says_so(scan: Scan) -> None:
    out = scan(TF)
    maybe = one(out.resources, "SecurityGroup", "maybe")
    assert isinstance(maybe.body["instances"], Unknown)
    assert "count of aws_security_group.maybe is not known offline" in (
        maybe.body["instances"].reason)
    assert str(maybe.locate(("instances",))) == "tf/main.tf:41"
    each = one(out.resources, "LoadBalancer", "each").body["instances"]
    assert isinstance(each, Unknown) and "for_each" in each.reason


def test_phantom_groups_are_not_reported(report: Scan) -> None:
    assert findings(report(TF), "sg-no-world-admin") == [("fail", "maybe")]
