"""Which policies a run evaluates: --policy / --skip-policy (ids or globs), --min-severity,
or the same under ``policies:`` in auditor.yaml; the report says what was selected."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from auditor.cli import cli
from tests.conftest import EXAMPLE

NOW = "2026-12-01T00:00:00Z"
WAIVER = """\
waivers:
  - policy: rds-backups
    resource: DBInstance/*
    environments: ["*"]
    reason: Backups move to AWS Backup in Q1.
    owner: team-data
    expires: 2027-01-31
"""


def _project(tmp_path: Path, policies: str = "") -> Path:
    root = tmp_path / "project"
    shutil.copytree(EXAMPLE, root)
    if policies:
        config = root / "auditor.yaml"
        config.write_text(config.read_text() + policies)
    return root


def _scan(root: Path, *args: str) -> tuple[int, dict[str, Any] | str]:
    result = CliRunner().invoke(cli, ["scan", "--config", str(root), "--format", "json",
                                      "--now", NOW, "--fail-on", "never", *args])
    try:
        return result.exit_code, json.loads(result.output)
    except ValueError:
        return result.exit_code, result.output


def _policies(report: dict[str, Any]) -> set[str]:
    return {f["policy"] for f in report["findings"]} | {p["policy"] for p in report["passed"]}


def test_without_a_selection_every_policy_runs_and_none_is_reported(tmp_path: Path) -> None:
    code, report = _scan(_project(tmp_path))
    assert code == 0 and isinstance(report, dict)
    assert report["selection"] is None
    assert "rds-backups" in _policies(report) and "image-pinned" in _policies(report)


def test_policy_globs_and_skips_choose_what_runs(tmp_path: Path) -> None:
    code, report = _scan(_project(tmp_path), "--policy", "rds-*", "--policy", "image-pinned",
                         "--skip-policy", "rds-multi-*")
    assert code == 0 and isinstance(report, dict)
    ran = _policies(report)
    assert ran and all(p.startswith("rds-") or p == "image-pinned" for p in ran)
    assert "rds-multi-az" not in ran and "rds-backups" in ran
    selection = report["selection"]
    assert selection["policy"] == ["rds-*", "image-pinned"]
    assert selection["skip_policy"] == ["rds-multi-*"]
    assert "rds-multi-az" in selection["skipped"] and "cpu-limits" in selection["skipped"]
    assert set(selection["selected"]) == {p["id"] for p in report["policies"]}
    assert not set(selection["selected"]) & set(selection["skipped"])


def test_min_severity_keeps_that_severity_and_above(tmp_path: Path) -> None:
    code, report = _scan(_project(tmp_path), "--min-severity", "high")
    assert code == 0 and isinstance(report, dict)
    assert report["findings"]
    assert {f["severity"] for f in report["findings"]} <= {"high", "critical"}
    assert report["selection"]["min_severity"] == "high"


def test_the_config_selects_and_a_flag_replaces_only_its_own_key(tmp_path: Path) -> None:
    root = _project(tmp_path, "policies:\n  skip_policy: [image-pinned]\n"
                    "  min_severity: medium\n")
    code, report = _scan(root)
    assert code == 0 and isinstance(report, dict)
    assert "image-pinned" not in _policies(report)
    assert report["selection"]["skip_policy"] == ["image-pinned"]
    # --skip-policy replaces the config's skip list; its min_severity still applies.
    code, report = _scan(root, "--skip-policy", "pdb-present")
    assert code == 0 and isinstance(report, dict)
    assert "image-pinned" in _policies(report) and "pdb-present" not in _policies(report)
    assert report["selection"]["min_severity"] == "medium"
    assert all(f["severity"] != "low" for f in report["findings"])


def test_a_pattern_that_matches_nothing_is_an_error_naming_where_it_came_from(
        tmp_path: Path) -> None:
    code, output = _scan(_project(tmp_path), "--policy", "rds-bakups")
    assert code == 2 and "--policy: 'rds-bakups' matches no policy" in str(output)
    root = _project(tmp_path / "b", "policies:\n  skip_policy: [no-such-*]\n")
    code, output = _scan(root)
    assert code == 2 and "policies.skip_policy: 'no-such-*' matches no policy" in str(output)
    root = _project(tmp_path / "c", "policies:\n  min_severity: severe\n")
    code, output = _scan(root)
    assert code == 2 and "policies.min_severity" in str(output)


def test_a_waiver_of_a_policy_left_out_is_not_stale(tmp_path: Path) -> None:
    root = _project(tmp_path)
    (root / ".auditor-waivers.yaml").write_text(WAIVER)
    code, report = _scan(root, "--policy", "image-pinned")
    assert code == 0 and isinstance(report, dict)
    assert [w["state"] for w in report["waivers"]] == ["active"]
    assert not any(f["policy"] == "waiver-stale" for f in report["findings"])
    # Had it run and found nothing to cover, the same waiver would be stale: the check
    # above is of the selection, not of the waiver.
    (root / ".auditor-waivers.yaml").write_text(WAIVER.replace("DBInstance/*", "DBInstance/x"))
    code, report = _scan(root, "--policy", "rds-backups")
    assert isinstance(report, dict)
    assert [w["state"] for w in report["waivers"]] == ["stale"]


def test_findings_of_policies_left_out_are_not_fixed_against_a_base(tmp_path: Path) -> None:
    root = _project(tmp_path)
    code, base = _scan(root)
    assert isinstance(base, dict) and any(f["policy"] == "cpu-limits" for f in base["findings"])
    base_file = tmp_path / "base.json"
    base_file.write_text(json.dumps(base))
    code, report = _scan(root, "--baseline", str(base_file), "--policy", "image-pinned")
    assert code == 0 and isinstance(report, dict)
    assert report["comparison"]["fixed"] == 0
    assert report["comparison"]["existing"] == len(report["findings"]) > 0


def test_the_table_says_what_was_evaluated(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["scan", "--config", str(_project(tmp_path)), "--format",
                                      "table", "--now", NOW, "--policy", "rds-*",
                                      "--min-severity", "high"])
    second = result.output.splitlines()[1]
    assert second.startswith("Policies: ") and " of " in second
    assert "--policy rds-*" in second and "--min-severity high" in second


def test_the_pull_request_comment_says_what_was_evaluated(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["scan", "--config", str(_project(tmp_path)), "--format",
                                      "markdown", "--now", NOW, "--skip-policy", "image-*"])
    assert "Policies: " in result.output and "evaluated (--skip-policy image-\\*)" in (
        result.output)
