"""What the scan of a copy guards `auditor fix` against: an edit that "fixes" a finding by
removing what it checks, a live value adopted into a line that does not decide the field,
a copy that would read what the project refuses (a link to the process's environment),
and the cases where the copy cannot stand in for the project."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from auditor import fix_keys, fix_verify
from auditor.cli import cli
from tests.test_fix_added import SHOP, _failing, _project, _scan


def _fix(root: Path, *args: str) -> Any:
    return CliRunner().invoke(cli, ["fix", "--config", str(root), *args])


WEB_TOGGLES = {  # the Deployment renders unless external.enabled; the PDB if pdb.enabled
    "chart/values.yaml": "replicas: 3\nexternal:\n  enabled: false\npdb:\n  enabled: false\n",
    "chart/templates/deployment.yaml": (
        "{{- if not .Values.external.enabled }}\napiVersion: apps/v1\nkind: Deployment\n"
        "metadata:\n  name: shop\nspec:\n  replicas: {{ .Values.replicas }}\n"
        "  revisionHistoryLimit: 5\n  selector:\n    matchLabels: {app: shop}\n"
        "  template:\n    metadata:\n      labels: {app: shop}\n    spec:\n"
        "      containers:\n        - name: shop\n"
        "          image: registry.example.com/shop:1.0.0\n{{- end }}\n"),
    "chart/templates/pdb.yaml": (
        "{{- if .Values.pdb.enabled }}\napiVersion: policy/v1\nkind: PodDisruptionBudget\n"
        "metadata:\n  name: shop\nspec:\n  maxUnavailable: 1\n  selector:\n"
        "    matchLabels: {app: shop}\n{{- end }}\n"),
}


def test_a_negated_guard_is_not_a_toggle(tmp_path: Path) -> None:
    root = _project(tmp_path / "shop", {**SHOP, **WEB_TOGGLES})
    shown = _fix(root, "--policy", "pdb-present")
    assert "-  enabled: false\n+  enabled: true" in shown.stdout
    assert shown.stdout.count("\n@@ ") == 1 and "pdb:\n-  enabled" in shown.stdout
    negated = {"pdb.yaml": "{{- if not .Values.external.enabled }}\n"
                           "kind: PodDisruptionBudget\n{{- end }}"}
    assert fix_keys.toggles(negated, "PodDisruptionBudget") == []


def test_an_edit_that_removes_the_checked_workload_is_not_a_fix(tmp_path: Path) -> None:
    # The PDB's toggle also stops the Deployment rendering: the finding would vanish.
    deployment = WEB_TOGGLES["chart/templates/deployment.yaml"].replace(
        "if not .Values.external.enabled", "if not .Values.pdb.enabled")
    root = _project(tmp_path / "shop", {**SHOP, **WEB_TOGGLES,
                                        "chart/templates/deployment.yaml": deployment})
    shown = _fix(root, "--policy", "pdb-present")
    assert shown.stdout == ""
    assert "Deployment/shop/shop is no longer checked (the change removes it" in shown.stderr


def test_a_link_to_the_process_environment_is_not_read_by_the_copy(
        tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setenv("AUDITOR_TEST_SECRET", "hunter2")
    leak = ("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: leak-"
            '{{ regexFind "AUDITOR_TEST_SECRET=[a-z0-9]+" (.Files.Get "env") | '
            'replace "AUDITOR_TEST_SECRET=" "" | default "none" }}\n')
    root = _project(tmp_path / "shop", {**SHOP, "chart/templates/leak.yaml": leak})
    (root / "chart/env").symlink_to("/proc/self/environ")
    shown = _fix(root)
    assert "hunter2" not in shown.stdout + shown.stderr
    # The chart is refused in the project and in the copy alike; Terraform is still fixed.
    assert "+  deletion_protection     = true" in shown.stdout


def test_a_file_the_scan_only_tests_for_is_in_the_copy(tmp_path: Path) -> None:
    tf = ('resource "aws_db_instance" "db" {\n'
          '  count                   = fileexists("${path.module}/prod.flag") ? 1 : 0\n'
          '  identifier              = "shop-db"\n  engine                  = "postgres"\n'
          "  multi_az                = true\n  deletion_protection     = true\n"
          "  backup_retention_period = 1\n}\n")
    root = _project(tmp_path / "shop", {**SHOP, "tf/main.tf": tf, "tf/prod.flag": ""})
    written = _fix(root, "--policy", "rds-backups", "--write")
    assert written.exit_code == 0, written.stderr
    assert "backup_retention_period = 7" in (root / "tf/main.tf").read_text()
    assert ("rds-backups", "shop-db") not in _failing(_scan(root))


DRIFT = {  # staging takes 1 whatever the caller passes; live has 7
    "auditor.yaml": "service: shop\nenvironments:\n  staging:\n"
                    "    terraform: {dirs: [tf], vars: {environment: staging}}\n"
                    "    aws: {region: us-east-1}\n",
    "tf/main.tf": 'variable "environment" {}\n\nmodule "db" {\n  source = "../modules/db"\n\n'
                  '  identifier              = "shop-db"\n'
                  "  environment             = var.environment\n"
                  "  backup_retention_period = 3\n}\n",
    "modules/db/main.tf": (
        'variable "identifier" {}\nvariable "environment" {}\n'
        'variable "backup_retention_period" {}\n\nresource "aws_db_instance" "this" {\n'
        "  identifier              = var.identifier\n"
        '  engine                  = "postgres"\n  multi_az                = true\n'
        "  deletion_protection     = true\n  backup_retention_period = var.environment =="
        ' "prod" ? var.backup_retention_period : 1\n}\n'),
    "live.json": json.dumps({
        "format": "runbook-auditor-snapshot", "version": 2, "service": "shop",
        "collected_at": "2026-11-27T07:45:00+00:00", "environments": {"staging": {
            "resources": [{"kind": "DBInstance", "name": "shop-db", "namespace": None,
                           "source": "aws us-east-1", "address": None, "body": {
                               "identifier": "shop-db", "engine": "postgres",
                               "multi_az": True, "backup_retention_period": 7,
                               "deletion_protection": True}}],
            "unavailable": {}, "problems": []}}}),
}


def test_a_live_value_is_adopted_only_where_it_decides_the_field(tmp_path: Path) -> None:
    root = _project(tmp_path / "shop", DRIFT)
    # The module's condition ignores the caller's 3 in staging: the drift is located at
    # the module's line, not at the caller's argument, and nothing is written.
    audit = CliRunner().invoke(cli, ["audit", "--config", str(root), "--live",
                                     str(root / "live.json"), "--format", "json"])
    [drift] = [f for f in json.loads(audit.stdout)["findings"]
               if f["policy"] == "terraform-drift"]
    assert drift["location"]["file"] == "modules/db/main.tf"
    shown = _fix(root, "--adopt-live", "--live", str(root / "live.json"), "--write")
    assert shown.exit_code == 0, shown.stderr
    assert "modules/db/main.tf: not a file the config names" in shown.stderr
    assert (root / "tf/main.tf").read_text() == DRIFT["tf/main.tf"]


def test_an_adopted_value_the_declared_side_does_not_take_is_refused() -> None:
    from auditor.models import Inventory, Resource

    inventory = Inventory("staging", "declared", [Resource(
        "DBInstance", "shop-db", {"backup_retention_period": 1}, "terraform")])
    expect = (fix_verify.Expect("DBInstance", None, "shop-db", "backup_retention_period", 7),)
    assert fix_verify._adopted(expect, {"staging": inventory}) == (
        "scanned again with the change, backup_retention_period is declared as 1, not 7: "
        "that line does not decide it")
    inventory.resources[0].body["backup_retention_period"] = 7
    assert fix_verify._adopted(expect, {"staging": inventory}) is None


def test_a_very_long_line_is_refused_at_once(tmp_path: Path) -> None:
    tf = SHOP["tf/main.tf"].replace('  identifier              = "shop-audit"\n',
                                    '  identifier              = "shop-audit"\n'
                                    f"  backup_window           = \"03:00-04:00\"{' ' * 200_000}"
                                    "/* x */\n")
    root = _project(tmp_path / "shop", {**SHOP, "tf/main.tf": tf})
    start = time.perf_counter()
    shown = _fix(root, "--policy", "rds-deletion-protection")
    assert time.perf_counter() - start < 30  # (quadratic, this took minutes)
    assert shown.exit_code == 0, shown.stderr


def test_absolute_paths_in_the_config_are_said_to_stop_the_check(tmp_path: Path) -> None:
    root = _project(tmp_path / "shop", SHOP)
    config = root / "auditor.yaml"
    config.write_text(config.read_text().replace("dirs: [tf]", f"dirs: [{root / 'tf'}]"))
    shown = _fix(root, "--policy", "rds-backups")
    assert f"the config names an absolute path ({root / 'tf'}): auditor fix checks each " \
        "edit in a copy, which needs paths relative to the config" in shown.stderr


def test_with_env_a_file_another_environment_reads_is_left_to_it(tmp_path: Path) -> None:
    root = _project(tmp_path / "shop", {**SHOP, "auditor.yaml": SHOP["auditor.yaml"] + (
        "  staging:\n    helm: {chart: chart, release: shop, namespace: shop-staging, "
        "values: [envs/staging.yaml]}\n    manifests: [k8s/loop.yaml]\n"),
        "envs/staging.yaml": "replicas: 2\n"})
    (root / "k8s").mkdir()
    (root / "k8s/loop.yaml").symlink_to("loop.yaml")  # staging's: not this run's concern
    shown = _fix(root, "--env", "prod", "--policy", "pdb-present")
    assert shown.exit_code == 0, shown.stderr
    # pdb.enabled is set in the chart's values, which staging reads: prod's own file wins.
    assert "+++ b/envs/prod.yaml" in shown.stdout and "+pdb:\n+  enabled: true" in shown.stdout
    assert "chart/values.yaml" not in shown.stdout


def test_a_variable_a_json_variables_file_sets_is_named(tmp_path: Path) -> None:
    tf = SHOP["tf/main.tf"].replace("backup_retention_period = 7",
                                    "backup_retention_period = var.days") + (
        'variable "days" {\n  default = 3\n  validation {\n'
        "    condition     = var.days >= 0\n    error_message = \"days\"\n  }\n}\n")
    root = _project(tmp_path / "shop", {**SHOP, "tf/main.tf": tf,
                                        "tf/terraform.tfvars.json": '{"days": 2}\n'})
    shown = _fix(root, "--policy", "rds-backups")
    assert "tf/terraform.tfvars.json sets var.days (JSON): change it there by hand" \
        in shown.stderr
    (root / "tf/terraform.tfvars.json").unlink()  # then the default (validation: one use)
    assert "-  default = 3\n+  default = 7" in _fix(root, "--policy", "rds-backups").stdout


def test_where_the_condition_lets_the_callers_value_through_it_is_the_location(
        tmp_path: Path) -> None:
    config = DRIFT["auditor.yaml"].replace("environment: staging", "environment: prod")
    root = _project(tmp_path / "shop", {**DRIFT, "auditor.yaml": config})
    audit = CliRunner().invoke(cli, ["audit", "--config", str(root), "--live",
                                     str(root / "live.json"), "--format", "json"])
    [drift] = [f for f in json.loads(audit.stdout)["findings"]
               if f["policy"] == "terraform-drift"]
    assert (drift["location"]["file"], drift["location"]["line"]) == ("tf/main.tf", 8)
    assert drift["location"]["related"] == [{"file": "modules/db/main.tf", "line": 10}]
    written = _fix(root, "--adopt-live", "--live", str(root / "live.json"), "--write")
    assert written.exit_code == 0, written.stderr
    assert "  backup_retention_period = 7\n" in (root / "tf/main.tf").read_text()
