"""null as Terraform means it: `default = null` is a default, an argument set to null is
unset (the provider's default applies), and `nullable = false` turns a null the caller
passes into the variable's default."""

from __future__ import annotations

from typing import Any

from auditor.unknown import Unknown
from tests.terraform.conftest import Scan, findings, one

DB = """
resource "aws_db_instance" "%(name)s" {
  identifier                  = "%(name)s"
  engine                      = "postgres"
  instance_class              = "db.t4g.micro"
  manage_master_user_password = true
%(extra)s
}
"""


def _db(name: str, extra: str = "") -> str:
    return DB % {"name": name, "extra": extra}


def test_a_null_default_is_a_default_and_a_null_argument_is_unset(scan: Scan) -> None:
    out = scan('variable "retention" {\n  type    = number\n  default = null\n}\n'
               + _db("db", "  backup_retention_period = var.retention\n"
                           "  publicly_accessible     = null"))
    assert out.problems == []
    body = one(out.resources, "DBInstance", "db").body
    # Unset, as if not written: no Unknown ("no default") and no None left in the body.
    assert "backup_retention_period" not in body
    assert "publicly_accessible" not in body


def test_a_variable_without_default_stays_unknown(scan: Scan) -> None:
    out = scan('variable "retention" {\n  type = number\n}\n'
               + _db("db", "  backup_retention_period = var.retention"))
    value = one(out.resources, "DBInstance", "db").body["backup_retention_period"]
    assert isinstance(value, Unknown)
    assert "has no default" in value.reason


def test_nullable_false_takes_the_default_for_a_null_argument(scan: Scan) -> None:
    out = scan({
        "tf/main.tf": 'module "db" {\n  source    = "./db"\n  retention = null\n'
                      '  backups   = null\n}\n',
        "tf/db/main.tf": 'variable "retention" {\n  default  = 14\n  nullable = false\n}\n'
                         'variable "backups" {\n  default = 14\n}\n'
                         + _db("kept", "  backup_retention_period = var.retention")
                         + _db("nulled", "  backup_retention_period = var.backups")})
    assert one(out.resources, "DBInstance", "kept").body["backup_retention_period"] == 14
    # nullable (the default): the caller's null is the value, so the argument is unset.
    assert "backup_retention_period" not in one(out.resources, "DBInstance", "nulled").body


def test_the_api_default_applies_where_a_module_leaves_retention_null(
        report: Any) -> None:
    """The terraform-aws-modules pattern: `default = null` in the module, nothing passed."""
    out = report({
        "tf/main.tf": 'module "db" {\n  source = "./db"\n}\n'
                      + _db("replica", '  replicate_source_db     = "db"\n'
                                       "  backup_retention_period = 0"),
        "tf/db/main.tf": 'variable "backup_retention_period" {\n  type    = number\n'
                         '  default = null\n}\n'
                         + _db("db", "  backup_retention_period = var.backup_retention_period")})
    assert findings(out, "rds-backups") == [("fail", "db")]  # 1 day, the API default
    [fail] = [f for f in out["findings"] if f["policy"] == "rds-backups"]
    assert "keeps 1 (the default) day(s)" in fail["message"]
    # The read replica keeps none of its own: it is restored from its source.
    assert [p["resource"]["name"] for p in out["passed"] if p["policy"] == "rds-backups"] == [
        "replica"]
