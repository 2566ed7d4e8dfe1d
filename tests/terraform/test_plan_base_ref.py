"""``--base-ref`` with a plan: CI makes the plan and does not commit it, so the base has
none. The base then reads the plan's directory from its HCL, and the note says so: the
comparison is of like with like, not "every finding is new"."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CliResult
from tests.terraform.test_plan import COMPUTED, configured, expressions, plan, planned

Run = Callable[..., CliResult]
CONFIG = """service: shop
environments:
  prod:
    terraform: {plan: infra/plan.json}
"""
ORDERS = """resource "aws_db_instance" "orders" {
  identifier              = "orders"
  backup_retention_period = 0
}

resource "aws_security_group" "admin" {
  count = 1
  ingress {
    from_port   = 22
    to_port     = 22
    protocol    = "tcp"
    cidr_blocks = ["0.0.0.0/0"]
  }
}
"""
SSH = {"from_port": 22, "to_port": 22, "protocol": "tcp", "cidr_blocks": ["0.0.0.0/0"]}
BILLING = """
resource "aws_db_instance" "billing" {
  identifier              = "billing"
  backup_retention_period = 0
}
"""


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


def _plan(*names: str) -> str:
    """The plan of ORDERS' group and ``names``' databases as ORDERS and BILLING write
    them."""
    group = planned("aws_security_group.admin[0]", "aws_security_group", "admin", {
        "ingress": [{**SSH, "ipv6_cidr_blocks": [], "security_groups": [], "self": False}]},
        index=0)
    dbs = [planned(f"aws_db_instance.{n}", "aws_db_instance", n,
                   {"identifier": n, "backup_retention_period": 0}) for n in names]
    return plan([(group, {**COMPUTED, "name": True}), *((db, COMPUTED) for db in dbs)],
                configuration={"resources": [
                    configured("aws_security_group", "admin", {"ingress": [expressions(**SSH)]},
                               count_expression={"constant_value": 1}),
                    *(configured("aws_db_instance", n, expressions(
                        identifier=n, backup_retention_period=0)) for n in names)]})


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """Base: one database without backups. Head: a second one. Only head has a plan (made
    in CI; plan.json is ignored by git)."""
    root = tmp_path / "repo"
    (root / "infra").mkdir(parents=True)
    (root / "auditor.yaml").write_text(CONFIG)
    (root / ".gitignore").write_text("plan.json\n")
    (root / "infra" / "main.tf").write_text(ORDERS)
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.email", "ci@example.com")
    git(root, "config", "user.name", "CI")
    git(root, "add", ".")
    git(root, "commit", "-qm", "base")
    (root / "infra" / "main.tf").write_text(ORDERS + BILLING)
    git(root, "commit", "-qam", "head")
    (root / "infra" / "plan.json").write_text(_plan("orders", "billing"))
    return root


def _by_resource(report: dict[str, Any]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for f in report["findings"]:
        out.setdefault(f["resource"]["name"], set()).add(f["baseline"])
    return out


def test_a_base_without_the_plan_is_read_from_its_hcl(run_cli: Run, repo: Path) -> None:
    result = run_cli("scan", "--config", str(repo), "--format", "json", "--source-url", "",
                     "--base-ref", "HEAD~1", "--fail-on", "high")
    report = result.json()
    assert report["comparison"]["note"] == (
        "infra/plan.json does not exist at HEAD~1: the base of prod read infra from its HCL, "
        "so what the HCL cannot evaluate offline counts as new")
    # A group with no name is named by its address, Terraform's instance address on both
    # sides (count = 1: [0]), so it is the same finding.
    assert _by_resource(report) == {"orders": {"existing"}, "billing": {"new"},
                                    "aws_security_group.admin[0]": {"existing"}}
    assert report["comparison"]["fixed"] == 0
    assert result.exit_code == 1  # billing's missing backups are new
    assert not any(f["status"] == "error" for f in report["findings"])


def test_a_committed_plan_is_the_base(run_cli: Run, repo: Path) -> None:
    """A plan in git is the base's own: read as is, no note."""
    (repo / ".gitignore").unlink()
    (repo / "infra" / "plan.json").write_text(_plan("orders"))
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "commit the plan")
    (repo / "infra" / "plan.json").write_text(_plan("orders", "billing"))
    report = run_cli("scan", "--config", str(repo), "--format", "json", "--source-url", "",
                     "--base-ref", "HEAD").json()
    assert report["comparison"]["note"] == ""
    assert _by_resource(report) == {"orders": {"existing"}, "billing": {"new"},
                                    "aws_security_group.admin[0]": {"existing"}}
