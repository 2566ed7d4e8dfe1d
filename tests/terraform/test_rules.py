"""Security group rules: a standalone rule on a group declared elsewhere is still audited,
and ports written as strings are numbers (Terraform converts them)."""

from __future__ import annotations

from auditor.unknown import Unknown
from tests.terraform.conftest import Scan, findings, one

ELSEWHERE = """
data "aws_security_group" "shared" {
  name = "shared-bastion"
}
variable "sg_id" {}
resource "aws_security_group_rule" "ssh_world" {
  type              = "ingress"
  security_group_id = data.aws_security_group.shared.id
  from_port         = 22
  to_port           = 22
  protocol          = "tcp"
  cidr_blocks       = ["0.0.0.0/0"]
}
resource "aws_vpc_security_group_ingress_rule" "rdp_world" {
  security_group_id = "sg-0123456789abcdef0"
  from_port         = 3389
  to_port           = 3389
  ip_protocol       = "tcp"
  cidr_ipv4         = "0.0.0.0/0"
}
resource "aws_vpc_security_group_egress_rule" "out" {
  security_group_id = data.aws_security_group.shared.id
  ip_protocol       = "-1"
  cidr_ipv4         = "0.0.0.0/0"
}
resource "aws_security_group_rule" "by_var" {
  type              = "ingress"
  security_group_id = var.sg_id
  from_port         = 22
  to_port           = 22
  protocol          = "tcp"
  cidr_blocks       = ["0.0.0.0/0"]
}
resource "aws_security_group_rule" "by_expression" {
  type              = "ingress"
  security_group_id = var.sg_id == "" ? "sg-1" : var.sg_id
  from_port         = 3389
  to_port           = 3389
  protocol          = "tcp"
  cidr_blocks       = ["0.0.0.0/0"]
}
"""


def test_rules_on_groups_declared_elsewhere_make_one_group_per_target(scan: Scan) -> None:
    out = scan(ELSEWHERE)
    shared = one(out.resources, "SecurityGroup", "data.aws_security_group.shared")
    assert shared.body["declared_elsewhere"] is True
    assert shared.address == "data.aws_security_group.shared"
    assert str(shared.location) == "tf/main.tf:5"  # the first rule that targets it
    (ssh,) = shared.body["ingress"]
    assert (ssh["from_port"], ssh["cidr_blocks"]) == (22, ["0.0.0.0/0"])
    assert str(shared.locate(("ingress", 0, "cidr_blocks"))) == "tf/main.tf:11"
    (egress,) = shared.body["egress"]  # the second rule joins the same group
    assert egress["protocol"] == "-1" and str(shared.locate(("egress", 0))) == "tf/main.tf:20"
    by_id = one(out.resources, "SecurityGroup", "sg-0123456789abcdef0")
    assert by_id.body["ingress"][0]["cidr_blocks"] == ["0.0.0.0/0"]
    assert by_id.body["egress"] == [] and by_id.body["declared_elsewhere"] is True
    by_var = one(out.resources, "SecurityGroup", "var.sg_id")  # named by the reference
    assert by_var.body["ingress"][0]["from_port"] == 22
    fallback = one(out.resources, "SecurityGroup",
                   "unknown security group (aws_security_group_rule.by_expression)")
    assert fallback.body["ingress"][0]["from_port"] == 3389


def test_world_open_rules_on_groups_declared_elsewhere_fail(report: Scan) -> None:
    failed = [name for status, name in findings(report(ELSEWHERE), "sg-no-world-admin")
              if status == "fail"]
    assert sorted(failed) == ["data.aws_security_group.shared", "sg-0123456789abcdef0",
                              "unknown security group (aws_security_group_rule.by_expression)",
                              "var.sg_id"]


def test_a_rule_whose_direction_is_unknown_makes_ingress_unknown(scan: Scan) -> None:
    out = scan("""
    variable "kind" {}
    resource "aws_security_group" "x" {
      name = "x"
    }
    resource "aws_security_group_rule" "r" {
      type              = var.kind
      security_group_id = aws_security_group.x.id
      from_port         = 22
      to_port           = 22
      protocol          = "tcp"
      cidr_blocks       = ["0.0.0.0/0"]
    }
    """)
    ingress = one(out.resources, "SecurityGroup", "x").body["ingress"]
    assert isinstance(ingress, Unknown) and "type" in ingress.reason


STRING_PORTS = """
resource "aws_security_group" "heredoc" {
  name = "heredoc"
  ingress {
    from_port   = "22"
    to_port     = "22"
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
}
resource "aws_security_group_rule" "rdp" {
  type              = "ingress"
  security_group_id = aws_security_group.heredoc.id
  from_port         = "3389"
  protocol          = "tcp"
  cidr_blocks       = ["0.0.0.0/0"]
}
"""


def test_string_ports_are_numbers(scan: Scan) -> None:
    inline, standalone = one(scan(STRING_PORTS).resources, "SecurityGroup",
                             "heredoc").body["ingress"]
    assert (inline["from_port"], inline["to_port"]) == (22, 22)
    assert (standalone["from_port"], standalone["to_port"]) == (3389, 3389)


def test_a_world_open_port_written_as_a_string_fails(report: Scan) -> None:
    assert set(findings(report(STRING_PORTS), "sg-no-world-admin")) == {("fail", "heredoc")}
