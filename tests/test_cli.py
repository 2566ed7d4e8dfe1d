"""The CLI contract: formats, --output, --fail-on and the exit codes 0/1/2/3."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from auditor.schema import report_schema
from tests import example_readme as readme
from tests.conftest import EXAMPLE, REPO, CliResult

Run = Callable[..., CliResult]
Project = Callable[[dict[str, str]], Path]

CLEAN_MANIFEST = """
apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data: {a: b}
"""
MEDIUM_ONLY = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  revisionHistoryLimit: 0
"""


def _config(manifests: list[str]) -> str:
    return ("service: web\nenvironments:\n  prod:\n    manifests: ["
            + ", ".join(manifests) + "]\n")


def test_example_scan_json_validates_and_fails_the_gate(run_cli: Run) -> None:
    result = run_cli("scan", "--config", str(EXAMPLE), "--format", "json")
    assert result.exit_code == 1, result.stderr
    report = result.json()
    jsonschema.validate(report, report_schema())
    assert report["service"] == "chess-ai" and report["environments"] == ["prod"]
    assert report["summary"]["by_status"]["fail"] > 0
    finding = next(f for f in report["findings"] if f["policy"] == "rds-backups")
    assert finding["side"] == "declared" and finding["environment"] == "prod"
    assert finding["location"]["file"] == "infrastructure/terraform/aws/rds.tf"
    assert finding["runbook"] == "emergency/data-corruption/#restore-from-backup"
    assert "chess-ai-prod" in " ".join(finding["remediation"]["commands"])


def test_fail_on_threshold(run_cli: Run, project: Project) -> None:
    root = project({"auditor.yaml": _config(["dep.yaml"]), "dep.yaml": MEDIUM_ONLY})
    report = run_cli("scan", "--config", str(root), "--format", "json").json()
    worst = max(("low", "medium", "high", "critical").index(f["severity"])
                for f in report["findings"] if f["status"] == "fail")
    names = ("low", "medium", "high", "critical")
    at = run_cli("scan", "--config", str(root), "--format", "json", "--fail-on", names[worst])
    above = [n for n in names if names.index(n) > worst]
    assert at.exit_code == 1
    for threshold in above:
        assert run_cli("scan", "--config", str(root), "--fail-on", threshold,
                       "--format", "json").exit_code == 0
    assert run_cli("scan", "--config", str(root), "--fail-on", "never",
                   "--format", "json").exit_code == 0


def test_clean_config_exits_0(run_cli: Run, project: Project) -> None:
    root = project({"auditor.yaml": _config(["cm.yaml"]), "cm.yaml": CLEAN_MANIFEST})
    result = run_cli("scan", "--config", str(root / "auditor.yaml"), "--format", "json")
    assert result.exit_code == 0
    assert result.json()["findings"] == []


def test_unreadable_input_is_an_error_result_and_exit_3(run_cli: Run, project: Project) -> None:
    # (A file the config names that is not there is a config error: test_config_errors.)
    root = project({"auditor.yaml": _config(["cm.yaml", "broken.yaml"]),
                    "cm.yaml": CLEAN_MANIFEST, "broken.yaml": "kind: ConfigMap\nx: [1,\n"})
    result = run_cli("scan", "--config", str(root), "--format", "json")
    assert result.exit_code == 3
    errors = {f["location"]["file"]: f for f in result.json()["findings"]
              if f["status"] == "error"}
    assert set(errors) == {"broken.yaml"}
    assert errors["broken.yaml"]["location"]["line"] == 2
    assert errors["broken.yaml"]["policy"] == "input-error"


def test_failing_findings_win_over_incomplete(run_cli: Run, project: Project) -> None:
    bad = MEDIUM_ONLY.replace("revisionHistoryLimit: 0", "replicas: 1")
    root = project({"auditor.yaml": _config(["dep.yaml", "broken.yaml"]), "dep.yaml": bad,
                    "broken.yaml": "a: [\n"})
    result = run_cli("scan", "--config", str(root), "--format", "json")
    assert result.exit_code == 1  # hpa-present (high) fails; the broken file is also listed
    statuses = {f["status"] for f in result.json()["findings"]}
    assert {"fail", "error"} <= statuses
    # Exit 1 says "failing findings"; the report still says the audit was incomplete.
    assert result.json()["gate"]["incomplete"] is True


@pytest.mark.parametrize("args", [
    ("scan", "--config", "/nonexistent/auditor.yaml"),
    ("scan", "--config", str(EXAMPLE), "--env", "staging"),
    ("scan", "--config", str(EXAMPLE), "--format", "yaml"),
    ("scan", "--config", str(EXAMPLE), "--policies", "/nonexistent-dir"),
    ("scan", "--config", str(EXAMPLE), "--now", "next tuesday"),
    ("audit", "--config", str(EXAMPLE), "--now", "2026-13-01"),
])
def test_cannot_start_is_exit_2_with_one_line(run_cli: Run, args: tuple[str, ...]) -> None:
    result = run_cli(*args)
    assert result.exit_code == 2
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_invalid_config_message(run_cli: Run, project: Project) -> None:
    root = project({"auditor.yaml": "service: x\nenvironments:\n  prod:\n    helmm: {}\n"})
    result = run_cli("scan", "--config", str(root))
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert lines == [f"error: {root / 'auditor.yaml'}:4: environments.prod.helmm: unknown key"]


def test_output_file_and_formats(run_cli: Run, tmp_path: Path) -> None:
    for fmt in ("table", "json", "sarif", "markdown", "junit"):
        out = tmp_path / f"report.{fmt}"
        result = run_cli("scan", "--config", str(EXAMPLE), "--format", fmt, "--output", str(out))
        assert result.exit_code == 1 and result.stdout == ""
        assert out.read_text().strip()
    table = (tmp_path / "report.table").read_text()
    assert "rds-backups" in table and "infrastructure/terraform/aws/rds.tf:" in table


def test_output_over_the_plan_file_is_refused(run_cli: Run, project: Project) -> None:
    """The plan may lie outside every Terraform directory (a CI build folder)."""
    plan = '{"format_version": "1.2", "planned_values": {"root_module": {}}}'
    root = project({"auditor.yaml": "service: s\nenvironments:\n  prod:\n    terraform:\n"
                                    "      dirs: [infra]\n      plan: build/plan.json\n",
                    "infra/main.tf": "", "build/plan.json": plan})
    for command in ("scan", "snapshot"):
        result = run_cli(command, "--config", str(root), "--output",
                         str(root / "build" / "plan.json"))
        assert result.exit_code == 2 and "which this run reads" in result.stderr, command
    assert (root / "build" / "plan.json").read_text() == plan


def test_env_selection(run_cli: Run, project: Project) -> None:
    root = project({
        "auditor.yaml": "service: web\nenvironments:\n  a: {manifests: [dep.yaml]}\n"
                        "  b: {manifests: [cm.yaml]}\n",
        "dep.yaml": MEDIUM_ONLY, "cm.yaml": CLEAN_MANIFEST})
    both = run_cli("scan", "--config", str(root), "--format", "json").json()
    only_b = run_cli("scan", "--config", str(root), "--env", "b", "--format", "json")
    assert both["environments"] == ["a", "b"]
    assert only_b.exit_code == 0 and only_b.json()["environments"] == ["b"]


def test_user_policy_dir(run_cli: Run, project: Project) -> None:
    custom = """
        id: team-owner-label
        title: The chart names its owning team
        severity: low
        description: Whoever is paged must know which team owns the service.
        runbook: {section: Escalation, anchor: escalation/}
        sides: [declared]
        applies_to: {kinds: [HelmValues]}
        condition: {missing: team.owner}
        message: release {{ name }} names no team.owner
        remediation: {text: Set team.owner in the values.}
        examples:
          pass: [{name: named, resources: [{kind: HelmValues, name: api,
                                            body: {team: {owner: payments}}}]}]
          fail: [{name: unnamed, resources: [{kind: HelmValues, name: api, body: {}}]}]
        """
    root = project({"auditor.yaml": _config(["cm.yaml"]), "cm.yaml": CLEAN_MANIFEST,
                    "mine/team-owner-label.yaml": custom})
    listed = run_cli("policies", "list", "--policies", str(root / "mine"))
    assert "team-owner-label" in listed.stdout
    assert run_cli("policies", "validate", str(root / "mine")).exit_code == 0


def test_bad_policy_file_is_exit_2_with_file_field_and_line(run_cli: Run, project: Project
                                                            ) -> None:
    policy = (REPO / "policies" / "rds-backups.yaml").read_text()
    broken = policy.replace("id: rds-backups", "id: my-check").replace(
        "severity: high", "severity: urgent")
    root = project({"auditor.yaml": _config(["cm.yaml"]), "cm.yaml": CLEAN_MANIFEST,
                    "mine/my-check.yaml": broken})
    result = run_cli("scan", "--config", str(root), "--policies", str(root / "mine"))
    assert result.exit_code == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"error: {root / 'mine' / 'my-check.yaml'}:3: severity: ")


def test_policies_show_and_validate(run_cli: Run) -> None:
    shown = run_cli("policies", "show", "rds-backups")
    assert shown.exit_code == 0 and re.search(r"^  min_days +7 ", shown.stdout, re.M)
    assert run_cli("policies", "show", "nope").exit_code == 2
    valid = run_cli("policies", "validate")
    assert valid.exit_code == 0, valid.stderr


def test_subprocess_has_no_traceback_and_no_cloud_sdk_imports(tmp_path: Path) -> None:
    """`auditor --help` and `auditor scan` must not import boto3 or kubernetes."""
    code = (
        "import sys\n"
        "from auditor.cli import main\n"
        "try:\n"
        "    main(sys.argv[1:])\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = sorted(m for m in ('boto3', 'botocore', 'kubernetes') if m in sys.modules)\n"
        "print('HEAVY=' + ','.join(heavy), file=sys.stderr)\n"
    )
    for args in (["--help"], ["scan", "--config", str(EXAMPLE), "--format", "json"]):
        proc = subprocess.run([sys.executable, "-c", code, *args], capture_output=True,
                              text=True, cwd=tmp_path, check=False)
        assert "HEAVY=\n" in proc.stderr, proc.stderr
        assert "Traceback" not in proc.stderr


def test_published_schema_matches_the_model() -> None:
    committed: dict[str, Any] = json.loads((REPO / "schemas" / "report.schema.json").read_text())
    assert committed == report_schema(), "run `make schema` and review the change"
    # Backward compatibility: fields that v1 consumers rely on stay required.
    finding = committed["$defs"]["Finding"]
    for field in ("policy", "title", "severity", "status", "environment", "side", "resource",
                  "message", "runbook", "remediation", "fingerprint"):
        assert field in finding["required"]
    for field in ("version", "generated_at", "service", "summary", "findings"):
        assert field in committed["required"]


def test_reports_of_the_first_release_stay_valid(run_cli: Run) -> None:
    """A version 1 report written by 0.1.0 (before waivers and baselines): valid against
    today's schema, and readable as a baseline and by `auditor report`."""
    old_path = REPO / "tests" / "data" / "report-v1-0.1.0.json"
    old = json.loads(old_path.read_text())
    assert "waivers" not in old and "key" not in old["findings"][0]["location"]
    schema = json.loads((REPO / "schemas" / "report.schema.json").read_text())
    errors = list(jsonschema.Draft202012Validator(schema).iter_errors(old))
    assert not errors, errors[0].message
    compared = run_cli("scan", "--config", str(EXAMPLE), "--baseline", str(old_path),
                       "--format", "json")
    report = compared.json()
    # New since 0.1.0: only what later checks learned to see, i.e. what the example's README
    # plants (or leaves unknown offline) that 0.1.0 did not report; all it did report is
    # matched (the chart's ALB Ingress for waf-on-alb was the one new finding when written).
    def keys(findings: list[dict[str, Any]], status: str) -> set[tuple[str, str]]:
        return {(f["policy"], readme.resource_key(f["resource"]["kind"],
                                                  f["resource"]["name"], f["item"]))
                for f in findings if f["status"] == status}

    new = [f for f in report["findings"] if f.get("baseline") == "new"]
    planted = {(r.policy, r.resource) for r in readme.planted()}
    assert keys(new, "fail") == planted - keys(old["findings"], "fail")
    assert {p for p, _ in keys(new, "unknown")} == readme.unknown_offline() - {
        p for p, _ in keys(old["findings"], "unknown")}
    assert len(new) == report["comparison"]["new"] == len(keys(new, "fail")) + len(
        keys(new, "unknown"))
    assert run_cli("report", str(old_path), "--format", "markdown").exit_code == 0


def test_sarif_paths_are_relative_to_the_repository_root(run_cli: Run) -> None:
    """GitHub code scanning resolves result paths from the repository root."""
    sarif = json.loads(run_cli("scan", "--config", str(EXAMPLE), "--format", "sarif").stdout)
    uris = {loc["physicalLocation"]["artifactLocation"]["uri"]
            for result in sarif["runs"][0]["results"] for loc in result["locations"]}
    assert uris and all(u.startswith("examples/chess-ai/") for u in uris)
    assert all((REPO / u).is_file() for u in uris)


def test_every_sarif_result_of_an_audit_names_a_file_in_the_repository(run_cli: Run) -> None:
    """Code scanning refuses the whole upload over one result without a file: a live
    finding with no declared twin points to the config file that names its environment."""
    out = run_cli("audit", "--config", str(EXAMPLE), "--live",
                  str(EXAMPLE / "live-snapshot.json"), "--format", "sarif").stdout
    results = json.loads(out)["runs"][0]["results"]
    live = [r for r in results if r["properties"]["side"] != "declared"]
    assert live
    for result in results:
        uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        assert (REPO / uri).is_file(), uri
    assert any(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
               == "examples/chess-ai/auditor.yaml" for r in live)


def test_unexpected_exception_is_one_line_and_exit_2(monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str]
                                                     ) -> None:
    from auditor import pipeline
    from auditor.cli import main

    def boom(*args: object) -> None:
        raise RuntimeError("boom\nsecond line")

    monkeypatch.setattr(pipeline, "scan", boom)
    with pytest.raises(SystemExit) as exit_:
        main(["scan", "--config", str(EXAMPLE), "--format", "json"])
    assert exit_.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == ("error: internal error: RuntimeError('boom\\nsecond line') "
                            "(please report this)\n")
    with pytest.raises(SystemExit) as exit_:  # Click's own errors keep their handling
        main(["scan", "--format", "yaml"])
    assert exit_.value.code == 2 and "Invalid value for '--format'" in capsys.readouterr().err


def test_non_utf8_inputs(run_cli: Run, project: Project) -> None:
    root = project({"auditor.yaml": _config(["cm.yaml", "latin1.yaml"]),
                    "cm.yaml": CLEAN_MANIFEST})
    (root / "latin1.yaml").write_bytes(b"kind: ConfigMap\nmetadata:\n  name: caf\xe9\n")
    result = run_cli("scan", "--config", str(root), "--format", "json")
    assert result.exit_code == 3, result.stderr
    (error,) = result.json()["findings"]
    assert error["location"] == {"file": "latin1.yaml", "line": 3, "key": None, "related": []}
    (root / "auditor.yaml").write_bytes(b"service: caf\xe9\n")
    result = run_cli("scan", "--config", str(root))
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr == (f"error: {root / 'auditor.yaml'}:1: invalid YAML: "
                             "not UTF-8 text (byte 0xe9 on line 1)\n")


def test_repeated_env_is_scanned_once(run_cli: Run, project: Project) -> None:
    root = project({"auditor.yaml": _config(["dep.yaml"]), "dep.yaml": MEDIUM_ONLY})
    once = run_cli("scan", "--config", str(root), "--format", "json").json()
    twice = run_cli("scan", "--config", str(root), "--env", "prod", "--env", "prod",
                    "--format", "json").json()
    assert once["findings"] and twice["findings"] == once["findings"]
    assert twice["summary"] == once["summary"]


PARAMS_CONFIG = "service: web\nenvironments:\n  prod:\n    manifests: [cm.yaml]\n    params:\n"


@pytest.mark.parametrize(("params", "expected"), [
    ("      min_dayz: 14\n", ":6: environments.prod.params.min_dayz: unknown parameter "
                             "(known: app_security_group, "),
    ("      min_days: '14'\n", ":6: environments.prod.params.min_days: expected int like "
                               "the default of rds-backups (7), got str"),
    ("      min_days: true\n", ":6: environments.prod.params.min_days: expected int"),
    ("      rds-backups:\n        min_days: 30\n        max_days: 40\n",
     ":8: environments.prod.params.rds-backups.max_days: unknown parameter of rds-backups "
     "(known: min_days)"),
    ("      rds-backups: 30\n", ":6: environments.prod.params.rds-backups: expected a "
                                "mapping of rds-backups's parameters (min_days), got int"),
    ("      hpa-present: {min_replicas: [2]}\n",
     ":6: environments.prod.params.hpa-present.min_replicas: expected int like the default "
     "of hpa-present (2), got list"),
    ("      ports: {ssh: 22}\n", ":6: environments.prod.params.ports: expected list"),
])
def test_params_are_validated_against_the_policies(run_cli: Run, project: Project,
                                                   params: str, expected: str) -> None:
    root = project({"auditor.yaml": PARAMS_CONFIG + params, "cm.yaml": CLEAN_MANIFEST})
    result = run_cli("scan", "--config", str(root), "--format", "json")
    assert result.exit_code == 2 and result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"error: {root / 'auditor.yaml'}{expected}"), line


def test_valid_params_are_accepted(run_cli: Run, project: Project) -> None:
    params = ("      min_days: 14\n      max_threshold: 1\n      deployment: web\n"
              "      db-connection-capacity: {headroom_percent: 30, deployment: null}\n"
              "      ports: [22]\n")
    root = project({"auditor.yaml": PARAMS_CONFIG + params, "cm.yaml": CLEAN_MANIFEST})
    result = run_cli("scan", "--config", str(root), "--format", "json")
    assert result.exit_code == 0, result.stderr


def test_paths_outside_the_config_dir_are_the_same_in_every_checkout(
        run_cli: Run, project: Project, tmp_path: Path) -> None:
    project({"a/team/auditor.yaml": "service: web\nenvironments:\n"
                                    "  prod: {manifests: [../shared/dep.yaml, broken.yaml]}\n",
             "a/shared/dep.yaml": MEDIUM_ONLY, "a/team/broken.yaml": "a: [\n"})
    shutil.copytree(tmp_path / "a", tmp_path / "elsewhere" / "b")
    reports = [run_cli("scan", "--config", str(tmp_path / d / "team"), "--format", "json"
                       ).json() for d in ("a", "elsewhere/b")]
    files = {f["location"]["file"] for f in reports[0]["findings"]}
    assert files == {"../shared/dep.yaml", "broken.yaml"}
    assert [(f["fingerprint"], f["location"]) for f in reports[0]["findings"]] == \
        [(f["fingerprint"], f["location"]) for f in reports[1]["findings"]]


def test_report_records_the_gate(run_cli: Run) -> None:
    strict = run_cli("scan", "--config", str(EXAMPLE), "--format", "json").json()
    assert strict["gate"] == {"fail_on": "high", "exit_code": 1, "passed": False,
                              "status": "failed", "incomplete": False, "scope": "all"}
    lenient = run_cli("scan", "--config", str(EXAMPLE), "--format", "json",
                      "--fail-on", "never")
    assert lenient.exit_code == 0
    assert lenient.json()["gate"] == {"fail_on": "never", "exit_code": 0, "passed": True,
                                      "status": "passed", "incomplete": False,
                                      "scope": "all"}
    assert strict["passed"] and all(p["policy"] for p in strict["passed"])


def test_non_utf8_policy_file_is_exit_2_with_its_line(run_cli: Run, tmp_path: Path) -> None:
    (tmp_path / "odd.yaml").write_bytes(b"id: odd\ntitle: caf\xe9\n")
    result = run_cli("policies", "validate", str(tmp_path))
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: {tmp_path / 'odd.yaml'}:2:")
