"""A reference to another resource is a value only where a security group is expected
(then it names the group); anywhere else it is unknown, never its own address as text."""

from __future__ import annotations

from auditor.unknown import Unknown
from tests.terraform.conftest import Scan, findings, one

TF = """
data "aws_ssm_parameter" "admin_cidr" {
  name = "/net/admin-cidr"
}
data "aws_security_group" "shared" {
  name = "shared"
}
resource "aws_security_group" "app" {
  name = "app"
}
resource "aws_security_group" "b" {
  name = "b"
  tags = { Peer = aws_security_group.app.id }
  ingress {
    from_port       = 22
    to_port         = 22
    protocol        = "tcp"
    cidr_blocks     = [data.aws_ssm_parameter.admin_cidr.value]
    security_groups = [aws_security_group.app.id, data.aws_security_group.shared.id,
                       aws_security_group.ghost.id, aws_default_security_group.d.id,
                       aws_security_group.app.arn]
  }
}
resource "aws_vpc_security_group_ingress_rule" "from_app" {
  security_group_id            = aws_security_group.b.id
  referenced_security_group_id = aws_security_group.app.name
  from_port                    = 5432
  to_port                      = 5432
  ip_protocol                  = "tcp"
}
resource "aws_db_instance" "db" {
  identifier              = "db"
  multi_az                = data.aws_ssm_parameter.admin_cidr.insecure_value
  deletion_protection     = true
  backup_retention_period = 14
  vpc_security_group_ids  = [aws_security_group.b.id]
}
resource "aws_lb" "main" {
  name            = "main"
  security_groups = [aws_security_group.app.id]
}
resource "aws_wafv2_web_acl_association" "main" {
  resource_arn = aws_lb.main.arn
  web_acl_arn  = aws_wafv2_web_acl.main.arn
}
"""


def test_a_computed_attribute_is_unknown_with_its_reference(scan: Scan) -> None:
    out = scan(TF)
    rule = one(out.resources, "SecurityGroup", "b").body["ingress"][0]
    (cidr,) = rule["cidr_blocks"]
    assert isinstance(cidr, Unknown)  # was the string "data.aws_ssm_parameter.admin_cidr.value"
    assert cidr.ref == "data.aws_ssm_parameter.admin_cidr.value"
    assert "read from the provider at plan time, not offline" in cidr.reason
    multi_az = one(out.resources, "DBInstance", "db").body["multi_az"]
    assert isinstance(multi_az, Unknown)
    assert multi_az.ref == "data.aws_ssm_parameter.admin_cidr.insecure_value"


def test_group_references_name_the_group_only_where_a_group_is_expected(scan: Scan) -> None:
    out = scan(TF)
    b = one(out.resources, "SecurityGroup", "b")
    inline, standalone = b.body["ingress"]
    groups = inline["security_groups"]
    assert groups[:4] == ["app", "data.aws_security_group.shared", "aws_security_group.ghost",
                          "aws_default_security_group.d"]
    assert isinstance(groups[4], Unknown)  # an ARN is not the group's identity
    assert standalone["security_groups"] == ["app"]  # referenced_security_group_id, by name
    tag = b.body["tags"]["Peer"]  # a group id outside a group position is just a value
    assert isinstance(tag, Unknown) and tag.ref == "aws_security_group.app.id"
    assert one(out.resources, "DBInstance", "db").body["vpc_security_group_ids"] == ["b"]
    assert one(out.resources, "LoadBalancer", "main").body["security_groups"] == ["app"]


def test_a_web_acl_association_keeps_the_reference_text(scan: Scan) -> None:
    lb = one(scan(TF).resources, "LoadBalancer", "main")
    assert lb.body["web_acl"] == "aws_wafv2_web_acl.main.arn"


def test_checks_say_unknown_instead_of_judging_an_address(report: Scan) -> None:
    """The reviewer's case: the world-open check passed on an address, multi-AZ failed."""
    out = report(TF)
    assert ("unknown", "b") in findings(out, "sg-no-world-admin")
    assert findings(out, "rds-multi-az") == [("unknown", "db")]


JOINED = """
resource "aws_security_group" "db" {
  count  = 1
  name   = "db"
  vpc_id = "vpc-1"
}
resource "aws_security_group_rule" "open" {
  type              = "ingress"
  from_port         = 5432
  to_port           = 5432
  protocol          = "tcp"
  cidr_blocks       = ["0.0.0.0/0"]
  security_group_id = join("", aws_security_group.db[*].id)
}
resource "aws_db_instance" "db" {
  identifier             = "db"
  engine                 = "postgres"
  port                   = 5432
  vpc_security_group_ids = compact(concat([join("", aws_security_group.db[*].id)], []))
}
"""


def test_a_group_named_by_a_join_of_its_one_instance_is_judged(report: Scan) -> None:
    # cloudposse's modules name a count = 1 group so: the database is open to the world.
    out = report(JOINED)
    assert ("fail", "db") in findings(out, "db-not-public")
    assert findings(out, "sg-no-world-admin") == [("fail", "db")]
