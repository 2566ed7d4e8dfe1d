"""`auditor init`: a first config from what a repository holds, that scans without error."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from auditor.errors import ExitCode
from tests.conftest import CliResult

Run = Callable[..., CliResult]
Project = Callable[[dict[str, str]], Path]

DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: {{ .Release.Name }}}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: web
          image: "nginx:{{ .Values.tag }}"
          readinessProbe: {httpGet: {path: /, port: 80}}
"""

REPO_FILES = {
    "deploy/web/Chart.yaml": "apiVersion: v2\nname: web\nversion: 0.1.0\n",
    "deploy/web/values.yaml": "tag: 1.27.2\n",
    "deploy/web/templates/deployment.yaml": DEPLOYMENT,
    # A dependency of the chart: not a release of its own.
    "deploy/web/charts/redis/Chart.yaml": "apiVersion: v2\nname: redis\nversion: 1.0.0\n",
    "deploy/values-staging.yaml": "tag: 1.27.3\n",
    "deploy/values-prod.yaml": "tag: 1.27.2\n",
    "infra/main.tf": 'module "db" {\n  source = "./modules/db"\n  name = var.name\n}\n'
                     'variable "name" { default = "web" }\n',
    "infra/modules/db/main.tf": 'variable "name" {}\n',
    "infra/env/prod.tfvars": 'name = "web-prod"\n',
    "infra/env/staging.tfvars": 'name = "web-staging"\n',
    "node_modules/junk/Chart.yaml": "apiVersion: v2\nname: junk\nversion: 0.0.1\n",
}


def test_init_finds_charts_values_terraform_and_tfvars_per_environment(
        run_cli: Run, project: Project) -> None:
    root = project(REPO_FILES)
    result = run_cli("init", str(root))
    assert result.exit_code == 0, result.stderr
    text = (root / "auditor.yaml").read_text()
    assert "# facts:" in text  # the service's facts are left for its team, commented
    config = yaml.safe_load(text)
    assert config["service"] == root.name.lower().replace("_", "-")
    assert sorted(config["environments"]) == ["prod", "staging"]
    prod = config["environments"]["prod"]
    assert prod["helm"] == {"chart": "deploy/web", "release": "web", "namespace": "default",
                            "values": ["deploy/web/values.yaml", "deploy/values-prod.yaml"]}
    assert prod["terraform"] == {"dirs": ["infra"], "var_files": ["infra/env/prod.tfvars"]}
    assert config["environments"]["staging"]["terraform"]["var_files"] == [
        "infra/env/staging.tfvars"]
    # What it wrote scans without an input error.
    scan = run_cli("scan", "--config", str(root), "--format", "json")
    assert scan.exit_code in (ExitCode.OK, ExitCode.FINDINGS), scan.stderr
    assert not [f for f in scan.json()["findings"] if f["status"] == "error"]


def test_init_never_overwrites_and_can_print_instead(run_cli: Run, project: Project) -> None:
    root = project({**REPO_FILES, "auditor.yaml": "mine: true\n"})
    refused = run_cli("init", str(root))
    assert refused.exit_code == ExitCode.CANNOT_START
    assert "already exists; not overwritten" in refused.stderr
    assert (root / "auditor.yaml").read_text() == "mine: true\n"
    printed = run_cli("init", str(root), "--stdout", "--service", "Web Shop")
    assert printed.exit_code == 0
    assert yaml.safe_load(printed.stdout)["service"] == "web-shop"


def test_init_says_when_there_is_nothing_to_audit(run_cli: Run, project: Project) -> None:
    root = project({"README.md": "hello\n"})
    result = run_cli("init", str(root))
    assert result.exit_code == ExitCode.CANNOT_START
    assert "no Helm chart (Chart.yaml) and no Terraform (*.tf) found" in result.stderr
    assert not (root / "auditor.yaml").exists()


def test_init_does_not_follow_links(run_cli: Run, project: Project,
                                    tmp_path_factory: pytest.TempPathFactory) -> None:
    outside = tmp_path_factory.mktemp("outside")
    (outside / "chart").mkdir(parents=True)
    (outside / "chart" / "Chart.yaml").write_text("apiVersion: v2\nname: x\nversion: 1\n")
    root = project({"infra/main.tf": 'variable "a" { default = 1 }\n'})
    os.symlink(outside, root / "linked")
    result = run_cli("init", str(root), "--stdout")
    assert result.exit_code == 0
    assert "helm" not in yaml.safe_load(result.stdout)["environments"]["default"]


def test_init_says_which_charts_need_their_dependencies_built(
        run_cli: Run, project: Project) -> None:
    """A dependency's name comes from the chart: a line break in it must not end the
    comment and write config."""
    root = project({
        "web/Chart.yaml": 'apiVersion: v2\nname: web\nversion: 1.0.0\ndependencies:\n'
                          '  - {name: common, version: 2.x, repository: oci://r}\n'
                          '  - {name: "evil\\nservice: hijacked", version: 1.x}\n',
        "web/values.yaml": "replicaCount: 1\n"})
    printed = run_cli("init", str(root), "--stdout")
    assert printed.exit_code == 0
    assert "#   helm dependency build web   # common, evil?service: hijacked" in printed.stdout
    config = yaml.safe_load(printed.stdout)
    assert config["service"] != "hijacked"
    # Once built, nothing is said.
    (root / "web" / "charts" / "common").mkdir(parents=True)
    (root / "web" / "charts" / "evil\nservice: hijacked").mkdir()
    assert "helm dependency build" not in run_cli("init", str(root), "--stdout").stdout
