"""The inputs Terraform itself reads: var files it loads on its own, ``*.tf.json``, files
with a byte order mark, and the resource kinds the checks know."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from auditor.config import load
from auditor.sources import terraform
from auditor.unknown import Unknown
from tests.terraform.conftest import Scan, findings, one

LAYERS = """
variable "a" { default = "default" }
variable "b" { default = "default" }
variable "c" { default = "default" }
variable "d" { default = "default" }
variable "e" { default = "default" }
resource "aws_lb" "main" {
  name = join("/", [var.a, var.b, var.c, var.d, var.e])
}
"""


def test_var_files_load_in_terraforms_order(scan: Scan) -> None:
    out = scan({
        "tf/main.tf": LAYERS,
        "tf/terraform.tfvars": 'a = "tfvars"\nb = "tfvars"\nc = "tfvars"\nd = "tfvars"\n'
                               'e = "tfvars"\n',
        "tf/b.auto.tfvars.json": '{"c": "auto-json", "d": "auto-json", "e": "auto-json"}',
        "tf/a.auto.tfvars": 'b = "auto"\nc = "auto"\nd = "auto"\ne = "auto"\n',
        "prod.tfvars": 'd = "var_files"\ne = "var_files"\n',
    }, config="""
    service: shop
    environments:
      prod:
        terraform: {dirs: [tf], var_files: [prod.tfvars], vars: {e: vars}}
    """)
    assert out.problems == []
    lb = one(out.resources, "LoadBalancer", "tfvars/auto/auto-json/var_files/vars")
    assert lb.address == "aws_lb.main"


def test_reviewer_terraform_tfvars_is_not_silently_ignored(report: Scan) -> None:
    out = report({"tf/main.tf": """
    variable "admin_cidrs" { default = ["10.0.0.0/8"] }
    resource "aws_security_group" "bastion" {
      name = "bastion"
      ingress {
        from_port   = 22
        to_port     = 22
        protocol    = "tcp"
        cidr_blocks = var.admin_cidrs
      }
    }
    """, "tf/terraform.tfvars": 'admin_cidrs = ["0.0.0.0/0"]\n'})
    assert findings(out, "sg-no-world-admin") == [("fail", "bastion")]


def test_an_unreadable_auto_tfvars_is_a_located_problem(scan: Scan) -> None:
    out = scan({"tf/main.tf": LAYERS, "tf/x.auto.tfvars": 'a = = "x"\n'})
    (problem,) = out.problems
    assert (problem.location.file, problem.location.line) == ("tf/x.auto.tfvars", 1)
    assert problem.status == "error"


TF_JSON = {
    "resource": {
        "aws_security_group": {
            "json_sg": {
                "name": "${var.prefix}-json",
                "ingress": {"from_port": 3389, "to_port": 3389, "protocol": "tcp",
                            "cidr_blocks": ["0.0.0.0/0"]},
            },
        },
        "aws_db_instance": {"db": {"//": "a comment", "identifier": "json-db",
                                   "vpc_security_group_ids": ["${aws_security_group.hcl.id}"]}},
    },
    "variable": {"prefix": {"default": "shop"}},
}


def test_tf_json_files_are_read_alongside_hcl(scan: Scan) -> None:
    out = scan({
        "tf/main.tf": 'resource "aws_security_group" "hcl" {\n  name = "${var.prefix}-hcl"\n}\n',
        "tf/more.tf.json": json.dumps(TF_JSON, indent=2),
    })
    assert out.problems == []
    sg = one(out.resources, "SecurityGroup", "shop-json")  # a variable declared in JSON
    assert sg.body["ingress"][0]["from_port"] == 3389  # one nested block as an object
    assert sg.address == "aws_security_group.json_sg"
    assert str(sg.location) == "tf/more.tf.json:4"  # the line of the resource's name key
    db = one(out.resources, "DBInstance", "json-db")
    assert db.body["vpc_security_group_ids"] == ["shop-hcl"]  # a reference into the HCL
    assert "//" not in db.body and str(db.location) == "tf/more.tf.json:17"


def test_malformed_tf_json_is_a_located_problem(scan: Scan) -> None:
    out = scan({"tf/main.tf": LAYERS, "tf/bad.tf.json": '{"resource": {\n  "x": ]\n}'})
    (problem,) = out.problems
    assert (problem.location.file, problem.location.line) == ("tf/bad.tf.json", 2)
    assert "invalid JSON" in problem.message
    assert [r.kind for r in out.resources] == ["LoadBalancer"]


def test_byte_order_mark_is_ignored_and_other_encodings_are_problems(
        project: Callable[[dict[str, str]], Path]) -> None:
    root = project({"auditor.yaml": "service: s\nenvironments:\n  prod:\n"
                                    "    terraform: {dirs: [tf]}\n"})
    (root / "tf").mkdir()
    (root / "tf/bom.tf").write_bytes(b'\xef\xbb\xbfresource "aws_lb" "bom" {\n  name = "bom"\n}\n')
    (root / "tf/latin.tf").write_bytes(b'resource "aws_lb" "l" {\n  name = "caf\xe9"\n}\n')
    config = load(str(root))
    out = terraform.collect(config, "prod", config.environments["prod"])
    assert [r.name for r in out.resources] == ["bom"]  # Terraform ignores a UTF-8 BOM
    (problem,) = out.problems
    assert problem.location.file == "tf/latin.tf" and "UTF-8" in problem.message


def test_rds_clusters_and_default_security_groups_are_audited(scan: Scan) -> None:
    out = scan("""
    resource "aws_rds_cluster" "main" {
      cluster_identifier     = "aurora"
      engine                 = "aurora-postgresql"
      vpc_security_group_ids = [aws_default_security_group.main.id]
    }
    resource "aws_default_security_group" "main" {
      vpc_id = aws_vpc.main.id
      ingress {
        from_port   = 22
        to_port     = 22
        protocol    = "tcp"
        cidr_blocks = ["0.0.0.0/0"]
      }
    }
    resource "aws_default_security_group" "literal" {
      vpc_id = "vpc-123"
    }
    resource "aws_default_security_group" "unknown" {
      vpc_id = var.vpc
    }
    """)
    cluster = one(out.resources, "DBCluster", "aurora")
    assert cluster.address == "aws_rds_cluster.main"
    default = one(out.resources, "SecurityGroup", "default (aws_vpc.main)")
    assert default.body["ingress"][0]["cidr_blocks"] == ["0.0.0.0/0"]
    assert cluster.body["vpc_security_group_ids"] == [default.name]  # the same identity
    assert one(out.resources, "SecurityGroup", "default (vpc-123)").body["egress"] == []
    unknown = one(out.resources, "SecurityGroup", "aws_default_security_group.unknown")
    assert isinstance(unknown.body["vpc_id"], Unknown)


def test_every_resource_has_its_terraform_address(scan: Scan) -> None:
    out = scan({"tf/main.tf": """
    module "db" {
      source = "./db"
    }
    resource "aws_lb" "main" {}
    resource "aws_security_group_rule" "r" {
      type              = "ingress"
      security_group_id = "sg-1"
      from_port         = 22
      to_port           = 22
      protocol          = "tcp"
    }
    """, "tf/db/main.tf": 'resource "aws_db_instance" "main" {\n  identifier = "x"\n}\n'})
    assert sorted(str(r.address) for r in out.resources) == [
        "aws_lb.main", "module.db.aws_db_instance.main", "sg-1"]
