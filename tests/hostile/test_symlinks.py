"""Links and paths that lead out of the project: a pull request that links its values file
to the runner's credentials (or names /etc/passwd as one) gets an error at that file; the
file is never read, so nothing of it can appear in a report. Links inside the project work,
and a parse error never quotes the text it could not parse."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CliResult

Run = Callable[..., CliResult]
SECRET = "aws_secret_access_key = hunter2-7f3a9c"
CHART = "apiVersion: v2\nname: web\nversion: 0.1.0\n"
DEPLOYMENT = ("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n"
              "spec: {template: {spec: {containers: [{name: web, image: 'web:1'}]}}}\n")
GOOD_TF = ('resource "aws_db_instance" "db" {\n  identifier = "db"\n'
           '  backup_retention_period = 1\n}\n')


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    path = tmp_path / "credentials"
    path.write_text(f"[default]\n{SECRET}\n", encoding="utf-8")
    return path


@pytest.fixture
def proj(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    (root / ".git").mkdir(parents=True)  # the project: its git work tree
    for rel, text in {"chart/Chart.yaml": CHART, "chart/templates/deployment.yaml": DEPLOYMENT,
                      "tf/main.tf": GOOD_TF, "k8s/ok.yaml": DEPLOYMENT}.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    return root


def _scan(run_cli: Run, root: Path, env: str) -> dict[str, Any]:
    (root / "auditor.yaml").write_text(f"service: web\nenvironments:\n  prod:\n{env}",
                                       encoding="utf-8")
    result = run_cli("scan", "--config", str(root), "--format", "json")
    assert "hunter2" not in result.stdout + result.stderr
    report: dict[str, Any] = result.json()
    return report


def _error_at(report: dict[str, Any], file: str) -> str:
    messages = [f["message"] for f in report["findings"]
                if f["status"] == "error" and f["location"]["file"] == file]
    assert messages, [(f["location"], f["message"]) for f in report["findings"]]
    return messages[0]


@pytest.mark.parametrize(("link", "env"), [
    ("k8s/app.yaml", "    manifests: [k8s]\n"),
    ("prod.yaml", "    helm: {chart: chart, release: web, values: [prod.yaml]}\n"),
    ("chart/templates/leak.yaml", "    helm: {chart: chart, release: web}\n"),
    ("tf/leak.tf", "    terraform: {dirs: [tf]}\n"),
    ("prod.tfvars", "    terraform: {dirs: [tf], var_files: [prod.tfvars]}\n"),
])
def test_a_link_out_of_the_project_is_an_error_at_the_link(
        run_cli: Run, proj: Path, secret: Path, link: str, env: str) -> None:
    (proj / link).symlink_to(secret)
    report = _scan(run_cli, proj, env)
    message = _error_at(report, link)
    assert f"a symbolic link to {secret}, outside the project {proj}: not read" in message


def test_a_chart_or_folder_linked_out_is_refused_whole(run_cli: Run, proj: Path,
                                                       tmp_path: Path, secret: Path) -> None:
    outside = tmp_path / "elsewhere"
    (outside / "templates").mkdir(parents=True)
    (outside / "Chart.yaml").write_text(CHART)
    (outside / "templates" / "leak.yaml").symlink_to(secret)
    (proj / "linked-chart").symlink_to(outside, target_is_directory=True)
    report = _scan(run_cli, proj, "    helm: {chart: linked-chart, release: web}\n")
    assert "outside the project" in _error_at(report, "linked-chart")


def test_a_path_named_outside_the_project_is_not_read(run_cli: Run, proj: Path,
                                                      secret: Path) -> None:
    report = _scan(run_cli, proj, f"    manifests: ['{secret}']\n"
                                  f"    terraform: {{dirs: [tf], var_files: ['{secret}']}}\n")
    assert all("outside the project" in f["message"] for f in report["findings"]
               if f["status"] == "error")
    assert any(f["policy"] == "rds-backups" for f in report["findings"])  # tf/ still read


def test_a_link_loop_is_an_error_not_a_hang(run_cli: Run, proj: Path) -> None:
    (proj / "k8s" / "a.yaml").symlink_to(proj / "k8s" / "b.yaml")
    (proj / "k8s" / "b.yaml").symlink_to(proj / "k8s" / "a.yaml")
    report = _scan(run_cli, proj, "    manifests: [k8s]\n")
    assert "does not resolve" in _error_at(report, "k8s/a.yaml")


def test_links_inside_the_project_are_read(run_cli: Run, proj: Path) -> None:
    (proj / "envs").mkdir()
    (proj / "envs" / "prod.yaml").write_text("replicas: 3\n")
    (proj / "values-prod.yaml").symlink_to(proj / "envs" / "prod.yaml")
    (proj / "k8s" / "again.yaml").symlink_to(proj / "k8s" / "ok.yaml")
    report = _scan(run_cli, proj, "    helm: {chart: chart, release: web, "
                                  "values: [values-prod.yaml]}\n    manifests: [k8s]\n")
    assert not [f for f in report["findings"] if f["status"] == "error"]


def test_a_parse_error_never_quotes_the_text(run_cli: Run, proj: Path) -> None:
    """A file inside the project that is not what it claims (a credentials file named
    main.tf) is an error at its line, without its content."""
    (proj / "tf" / "leak.tf").write_text(f"[default]\n{SECRET}\n")
    (proj / "k8s" / "leak.yaml").write_text(f"[default\n{SECRET}\n")
    report = _scan(run_cli, proj, "    terraform: {dirs: [tf]}\n    manifests: [k8s]\n")
    assert "invalid HCL: unexpected" in _error_at(report, "tf/leak.tf")
    assert "invalid YAML" in _error_at(report, "k8s/leak.yaml")


def test_a_waiver_file_linked_out_is_refused(run_cli: Run, proj: Path, secret: Path) -> None:
    (proj / ".auditor-waivers.yaml").symlink_to(secret)
    (proj / "auditor.yaml").write_text("service: web\nenvironments:\n  prod:\n"
                                       "    terraform: {dirs: [tf]}\n", encoding="utf-8")
    result = run_cli("scan", "--config", str(proj))
    assert result.exit_code == 2 and "hunter2" not in result.stdout + result.stderr
    assert "outside the project" in result.stderr


def test_a_link_into_the_git_folder_is_refused(run_cli: Run, proj: Path) -> None:
    """actions/checkout keeps the job's token in .git/config: a chart must not publish it
    (Helm's .Files.Get would read a link in the chart)."""
    (proj / ".git" / "config").write_text('[http]\n\textraheader = "AUTHORIZATION: hunter2"\n')
    (proj / "chart" / "gitcfg").symlink_to(proj / ".git" / "config")
    report = _scan(run_cli, proj, "    helm: {chart: chart, release: web}\n")
    assert "inside the repository's .git folder: not read" in _error_at(report, "chart/gitcfg")
