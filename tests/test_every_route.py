"""Other routes to a runbook's failure causes (issue 11, point 9): each fixture is a way a
team writes the cause that the pack did not see before."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from auditor.cli import cli

CONFIG = "service: shop\nenvironments:\n  prod:\n    terraform: {dirs: [.]}\n"


def _scan(tmp_path: Path, files: dict[str, str]) -> dict[str, Any]:
    for name, text in {"auditor.yaml": CONFIG, **files}.items():
        (tmp_path / name).write_text(text)
    result = CliRunner().invoke(cli, ["scan", "--config", str(tmp_path / "auditor.yaml"),
                                      "--format", "json"], catch_exceptions=False)
    report: dict[str, Any] = json.loads(result.stdout)
    return report


def _results(report: dict[str, Any], policy: str) -> dict[tuple[str, str | None], Any]:
    """(resource name, item) -> the finding, or "pass"."""
    out: dict[tuple[str, str | None], Any] = {
        (f["resource"]["name"], f["item"]): f for f in report["findings"]
        if f["policy"] == policy}
    out.update({(p["resource"]["name"], p["item"]): "pass" for p in report["passed"]
                if p["policy"] == policy})
    return out


DB = """
resource "aws_db_instance" "%(name)s" {
  identifier     = "%(name)s"
  engine         = "postgres"
  instance_class = "db.t4g.micro"
  username       = "app"
%(password)s
}
"""


def test_a_master_password_set_in_terraform_never_rotates(tmp_path: Path) -> None:
    report = _scan(tmp_path, {"main.tf": "\n".join([
        DB % {"name": "literal", "password": '  password = "change-me-123"'},
        DB % {"name": "managed", "password": "  manage_master_user_password = true"},
        DB % {"name": "from-var", "password": "  password = var.db_password"},
        DB % {"name": "replica", "password": ""},
        'variable "db_password" {\n  sensitive = true\n}\n'])})
    results = _results(report, "db-secret-rotation")
    fail = results[("literal", "master password")]
    assert fail["status"] == "fail"
    assert "master password set in Terraform (password)" in fail["message"]
    assert "change-me-123" not in json.dumps(report)  # the password never leaves
    assert fail["location"]["line"] == 7
    assert fail["remediation"]["commands"] == [
        "aws rds modify-db-instance --db-instance-identifier literal "
        "--manage-master-user-password --apply-immediately"]
    assert results[("managed", "master password")] == "pass"
    assert results[("from-var", "master password")]["status"] == "unknown"
    assert not any(name == "replica" for name, _ in results)  # no password: nothing to judge


def test_a_password_a_rotating_database_secret_changes_passes(tmp_path: Path) -> None:
    report = _scan(tmp_path, {"main.tf": DB % {
        "name": "rotated", "password": '  password = "initial"\n'
        '  lifecycle {\n    ignore_changes = [password]\n  }'} + """
resource "aws_secretsmanager_secret" "db" {
  name = "shop/prod/database"
}
resource "aws_secretsmanager_secret_rotation" "db" {
  secret_id           = aws_secretsmanager_secret.db.id
  rotation_lambda_arn = "arn:aws:lambda:us-east-1:123456789012:function:rotate"
  rotation_rules {
    automatically_after_days = 30
  }
}
"""})
    results = _results(report, "db-secret-rotation")
    assert results[("rotated", "master password")] == "pass"
    assert results[("shop/prod/database", None)] == "pass"


NODEGROUP = """
resource "aws_eks_node_group" "general" {
  cluster_name    = "c"
  node_group_name = "general"
  instance_types  = ["m6i.xlarge"]
  scaling_config {
    min_size     = 3
    max_size     = 6
    desired_size = 3
  }
}
"""


def _workload(kind: str, name: str, cpu: str, replicas: int | None = None) -> str:
    spec = f"  replicas: {replicas}\n" if replicas is not None else ""
    return (f"apiVersion: apps/v1\nkind: {kind}\nmetadata: {{name: {name}}}\nspec:\n{spec}"
            "  template:\n    spec:\n      containers:\n"
            f"        - name: {name}\n          image: x:1\n"
            f"          resources: {{requests: {{cpu: {cpu}, memory: 256Mi}}}}\n")


def test_daemonsets_and_all_workloads_share_the_nodes(tmp_path: Path) -> None:
    """Each Deployment fits alone on 6 nodes of 4 CPU once the DaemonSet's half CPU is
    taken (3 per node, 18 >= 12), but together they need 24 of the 21 CPU left."""
    config = CONFIG + "    manifests: [k.yaml]\n    params:\n      nodegroup-capacity:\n" \
        "        instance_types: {m6i.xlarge: {cpu: 4, memory: 16Gi}}\n"
    report = _scan(tmp_path, {"auditor.yaml": config, "main.tf": NODEGROUP, "k.yaml": "---\n".join([
        _workload("DaemonSet", "node-exporter", "500m"),
        _workload("Deployment", "api", "1", 12), _workload("Deployment", "worker", "1", 12)])})
    results = _results(report, "nodegroup-capacity")
    assert results[("general", "api")] == results[("general", "worker")] == "pass"
    together = results[("general", "all workloads")]
    assert together["status"] == "fail"
    assert "request 24 CPU of 21 that max_size 6 nodes offer" in together["message"]
    assert together["remediation"]["commands"][0].endswith("--scaling-config maxSize=7")
    assert together["location"]["line"] == 6  # the scaling_config block


def test_a_daemonset_pod_comes_off_every_node(tmp_path: Path) -> None:
    config = CONFIG + "    manifests: [k.yaml]\n    params:\n      nodegroup-capacity:\n" \
        "        instance_types: {m6i.xlarge: {cpu: 4, memory: 16Gi}}\n"
    report = _scan(tmp_path, {"auditor.yaml": config, "main.tf": NODEGROUP, "k.yaml": "---\n".join([
        _workload("DaemonSet", "node-exporter", "1"), _workload("Deployment", "api", "1", 20)])})
    fail = _results(report, "nodegroup-capacity")[("general", "api")]
    assert fail["status"] == "fail"
    assert "3 pod(s) of api" in fail["message"]
    assert "after 1 DaemonSet pod(s) per node (1 CPU, 256Mi)" in fail["message"]


AURORA = """
resource "aws_rds_cluster" "main" {
  cluster_identifier              = "shop-prod"
  engine                          = "aurora-postgresql"
  manage_master_user_password     = true
  db_cluster_parameter_group_name = %(group)s
}

resource "aws_rds_cluster_parameter_group" "main" {
  name   = "shop-cluster"
  family = "aurora-postgresql15"
  parameter {
    name         = "max_connections"
    value        = "%(max)s"
    apply_method = "pending-reboot"
  }
}

resource "aws_rds_cluster_instance" "main" {
  count              = 2
  identifier         = "shop-prod-${count.index}"
  cluster_identifier = aws_rds_cluster.main.id
  instance_class     = "db.t4g.medium"
  engine             = aws_rds_cluster.main.engine
}
"""

CHART = {
    "shop/Chart.yaml": "apiVersion: v2\nname: shop\nversion: 0.1.0\n",
    "shop/values.yaml": "db:\n  pool: 20\nreplicas: 20\n",
    "shop/templates/d.yaml": (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: shop}\nspec:\n"
        "  replicas: {{ .Values.replicas }}\n  selector: {matchLabels: {app: shop}}\n"
        "  template:\n    metadata: {labels: {app: shop}}\n    spec:\n"
        "      containers: [{name: shop, image: \"shop:1.0.0\"}]\n"),
}
CHART_CONFIG = ("service: shop\nfacts:\n  values_keys: {pool_size: db.pool}\nenvironments:\n"
                "  prod:\n    helm: {chart: shop, release: shop, values: [shop/values.yaml]}\n"
                "    terraform: {dirs: [.]}\n")


def test_an_aurora_clusters_connections_come_from_its_groups_and_instances(
        tmp_path: Path) -> None:
    """20 pods x pool 20 + 20% = 480 connections."""
    (tmp_path / "shop" / "templates").mkdir(parents=True)
    cases = {  # cluster parameter group -> what the cluster allows
        ("aws_rds_cluster_parameter_group.main.name", "1000"): "pass",  # set: 1000
        ("aws_rds_cluster_parameter_group.main.name", "400"): "fail",  # set: 400
        ('"default.aurora-postgresql15"', "1"): "fail",  # db.t4g.medium: at most 450
    }
    for (group, maximum), expected in cases.items():
        report = _scan(tmp_path, {"auditor.yaml": CHART_CONFIG, **CHART,
                                  "main.tf": AURORA % {"group": group, "max": maximum}})
        result = _results(report, "db-connection-capacity")[("shop-prod", None)]
        status = result if result == "pass" else result["status"]
        assert status == expected, (group, maximum, result)
        if expected == "fail":
            assert result["message"].startswith("Aurora cluster shop-prod: 20 pods")
    assert "at most 450" in result["message"]
    assert "db.t4g.medium (instance shop-prod-0)" in result["message"]
