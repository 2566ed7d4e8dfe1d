"""Nesting and size bombs: a file nested thousands of levels deep is an error at that file,
one line, and the other files are still audited; nothing ends in an internal error."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import CliResult

Run = Callable[..., CliResult]
Project = Callable[[dict[str, str]], Path]

GOOD_TF = """
resource "aws_db_instance" "db" {
  identifier              = "db"
  backup_retention_period = 1
}
"""


def _deep_list(levels: int) -> Any:
    value: Any = []
    for _ in range(levels):
        value = [value]
    return value


def _errors(report: dict[str, Any]) -> dict[str, str]:
    return {f["location"]["file"]: f["message"] for f in report["findings"]
            if f["status"] == "error"}


@pytest.mark.parametrize(("name", "text"), [
    ("deep.tf", "locals {\n  x = " + "[" * 3000 + "]" * 3000 + "\n}\n"),
    ("deep2.tf", "locals {\n  x = " + "{a = " * 400 + "1" + "}" * 400 + "\n}\n"),
    ("deep.tf.json", '{"locals": {"x": ' + "[" * 5000 + "]" * 5000 + "}}"),
])
def test_deep_terraform_is_an_error_at_its_file_and_the_rest_is_audited(
        run_cli: Run, project: Project, name: str, text: str) -> None:
    root = project({f"tf/{name}": text, "tf/main.tf": GOOD_TF,
                    "auditor.yaml": "service: s\nenvironments:\n  p:\n"
                                    "    terraform: {dirs: [tf]}\n"})
    report = run_cli("scan", "--config", str(root), "--format", "json").json()
    errors = _errors(report)
    assert list(errors) == [f"tf/{name}"] and "nested too deeply" in errors[f"tf/{name}"]
    assert any(f["policy"] == "rds-backups" and f["status"] == "fail"
               for f in report["findings"])


def test_deep_tfvars_is_an_error_at_its_file(run_cli: Run, project: Project) -> None:
    root = project({"tf/main.tf": GOOD_TF, "deep.tfvars": "x = " + "[" * 3000 + "]" * 3000,
                    "auditor.yaml": "service: s\nenvironments:\n  p:\n"
                                    "    terraform: {dirs: [tf], var_files: [deep.tfvars]}\n"})
    report = run_cli("scan", "--config", str(root), "--format", "json").json()
    assert "nested too deeply" in _errors(report)["deep.tfvars"]


def test_deep_yaml_is_an_error_at_its_file(run_cli: Run, project: Project) -> None:
    root = project({"k8s/deep.yaml": "a: " + "[" * 100_000 + "]" * 100_000 + "\n",
                    "tf/main.tf": GOOD_TF,
                    "auditor.yaml": "service: s\nenvironments:\n  p:\n"
                                    "    terraform: {dirs: [tf]}\n    manifests: [k8s]\n"})
    report = run_cli("scan", "--config", str(root), "--format", "json").json()
    assert "maximum nesting depth" in _errors(report)["k8s/deep.yaml"]
    deep_config = project({"auditor.yaml": "a: " + "[" * 100_000 + "]" * 100_000 + "\n"})
    result = run_cli("scan", "--config", str(deep_config))
    assert result.exit_code == 2 and len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("levels", [900, 100_000])  # past our limit; past Python's stack
def test_deep_reports_and_snapshots_are_one_line_errors(
        run_cli: Run, project: Project, tmp_path: Path, levels: int) -> None:
    deep = (json.dumps(_deep_list(levels)) if levels < 990 else
            "[" * levels + "]" * levels)
    report = tmp_path / "report.json"
    report.write_text('{"version": "1", "findings": [' + deep + "]}")
    snapshot = tmp_path / "snapshot.json"
    snapshot.write_text('{"format": "runbook-auditor-snapshot", "version": 1, "service": "s", '
                        '"collected_at": "2026-01-01T00:00:00+00:00", "environments": {"p": '
                        '{"resources": [{"kind": "Deployment", "name": "x", "source": "k", '
                        f'"body": {{"spec": {deep}}}}}], "unavailable": {{}}, '
                        '"problems": []}}}')
    root = project({"k8s/a.yaml": "kind: ConfigMap\napiVersion: v1\nmetadata: {name: a}\n",
                    "auditor.yaml": "service: s\nenvironments:\n  p:\n    manifests: [k8s]\n"})
    for args in (("report", str(report)), ("scan", "--config", str(root), "--baseline",
                                            str(report)),
                 ("audit", "--config", str(root), "--live", str(snapshot))):
        result = run_cli(*args)
        assert result.exit_code == 2, args
        (line,) = result.stderr.strip().splitlines()
        assert "nested" in line and "internal error" not in line


def test_a_report_cannot_choose_the_exit_code(run_cli: Run, tmp_path: Path) -> None:
    """`report --exit-code` passes on the code a gate can produce, nothing else."""
    from tests.conftest import EXAMPLE

    saved = tmp_path / "r.json"
    run_cli("scan", "--config", str(EXAMPLE), "--output", str(saved))
    doc = json.loads(saved.read_text())
    assert run_cli("report", str(saved), "--exit-code").exit_code == doc["gate"]["exit_code"]
    for code in (-7, 2, 249, "0"):
        doc["gate"]["exit_code"] = code
        saved.write_text(json.dumps(doc))
        result = run_cli("report", str(saved), "--exit-code")
        assert result.exit_code == 2 and "gate.exit_code" in result.stderr


def test_oversized_and_binary_files_are_errors_at_their_file(
        run_cli: Run, project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    from auditor import project as project_mod

    monkeypatch.setattr(project_mod, "MAX_INPUT_BYTES", 1000)
    root = project({"k8s/big.yaml": "a: " + "x" * 2000 + "\n",
                    "k8s/binary.yaml": "placeholder", "tf/main.tf": GOOD_TF,
                    "tf/blob.tf": "placeholder",
                    "auditor.yaml": "service: s\nenvironments:\n  p:\n"
                                    "    terraform: {dirs: [tf]}\n    manifests: [k8s]\n"})
    (root / "k8s" / "binary.yaml").write_bytes(b"\x00\xff\xfe" * 50)
    (root / "tf" / "blob.tf").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    errors = _errors(run_cli("scan", "--config", str(root), "--format", "json").json())
    assert "2,004 bytes, more than the 1,000 a declared file may have: not read" in errors[
        "k8s/big.yaml"]
    assert "not UTF-8" in errors["k8s/binary.yaml"]
    assert "not UTF-8" in errors["tf/blob.tf"]


def test_a_large_value_aliased_many_times_is_an_error_at_its_file(
        run_cli: Run, project: Project) -> None:
    """Under the node limit, but a megabyte repeated a hundred thousand times: stopped at
    the file instead of spending minutes and gigabytes in every consumer of the values."""
    import time

    bomb = "big: &s " + "x" * 1_000_000 + "\nlaughs: [" + ", ".join(["*s"] * 100_000) + "]\n"
    root = project({"chart/Chart.yaml": "apiVersion: v2\nname: web\nversion: 0.1.0\n",
                    "chart/values.yaml": "a: 1\n", "prod.yaml": bomb, "tf/main.tf": GOOD_TF,
                    "auditor.yaml": "service: s\nenvironments:\n  p:\n"
                                    "    helm: {chart: chart, release: web, values: [prod.yaml]}\n"
                                    "    terraform: {dirs: [tf]}\n"})
    started = time.monotonic()
    report = run_cli("scan", "--config", str(root), "--format", "json").json()
    assert time.monotonic() - started < 30
    assert "expands to more than" in _errors(report)["prod.yaml"]
    assert any(f["policy"] == "rds-backups" for f in report["findings"])


def test_a_string_doubled_without_end_is_unknown_not_out_of_memory(
        run_cli: Run, project: Project) -> None:
    lines = ['  b0 = "0123456789abcdef"'] + [
        f'  b{i} = "${{local.b{i - 1}}}${{local.b{i - 1}}}"' for i in range(1, 41)]
    bomb = "locals {\n" + "\n".join(lines) + "\n}\n" + (
        'resource "aws_db_instance" "bomb" {\n  identifier = local.b40\n'
        '  backup_retention_period = 14\n}\n')
    root = project({"tf/bomb.tf": bomb, "tf/main.tf": GOOD_TF,
                    "auditor.yaml": "service: s\nenvironments:\n  p:\n"
                                    "    terraform: {dirs: [tf]}\n"})
    result = run_cli("scan", "--config", str(root), "--format", "json")
    report = result.json()
    assert any(f["policy"] == "rds-backups" and f["status"] == "fail"
               and f["resource"]["name"] == "db" for f in report["findings"])
    assert "MemoryError" not in result.stdout


def test_a_snapshot_time_that_is_no_time_is_refused(run_cli: Run, tmp_path: Path) -> None:
    from tests.conftest import EXAMPLE

    doc = json.loads((EXAMPLE / "live-snapshot.json").read_text())
    doc["collected_at"] = "yesterday"
    bad = tmp_path / "snap.json"
    bad.write_text(json.dumps(doc))
    result = run_cli("audit", "--config", str(EXAMPLE), "--live", str(bad))
    assert result.exit_code == 2
    assert result.stderr.strip().endswith("collected_at: not an ISO 8601 date and time")
