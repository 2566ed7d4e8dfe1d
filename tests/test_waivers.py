"""Waivers end to end through the CLI: valid, expired, stale, malformed, and one waiver
covering the declared and the live finding of the same resource."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import EXAMPLE, CliResult

pytestmark = pytest.mark.clock  # date-sensitive: `make clock` runs it with the clock moved

Run = Callable[..., CliResult]
TODAY = datetime.now(UTC).date()
NEXT_MONTH = (TODAY + timedelta(days=30)).isoformat()
YESTERDAY = (TODAY - timedelta(days=1)).isoformat()

RDS = f"""
waivers:
  - policy: rds-backups
    resource: DBInstance/chess-ai-prod
    environments: [prod]
    reason: Backups move to AWS Backup in Q1; the plan keeps 35 days there.
    owner: team-data
    expires: {NEXT_MONTH}
"""


def _waivers(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "waivers.yaml"
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


def _scan(run_cli: Run, waivers: Path, *args: str) -> CliResult:
    return run_cli("scan", "--config", str(EXAMPLE), "--format", "json",
                   "--waivers", str(waivers), *args)


def _ident(finding: dict[str, Any]) -> str:
    """A finding's resource as a waiver names it: Kind/namespace/name."""
    r = finding["resource"]
    return "/".join(x for x in (r["kind"], r["namespace"], r["name"]) if x)


def _of(report: dict[str, Any], policy: str) -> list[dict[str, Any]]:
    return [f for f in report["findings"] if f["policy"] == policy]


def test_a_valid_waiver_marks_the_finding_and_keeps_it(run_cli: Run, tmp_path: Path) -> None:
    plain = run_cli("scan", "--config", str(EXAMPLE), "--format", "json").json()
    report = _scan(run_cli, _waivers(tmp_path, RDS)).json()
    (finding,) = _of(report, "rds-backups")  # reported, not hidden
    assert finding["status"] == "fail"
    waived = finding["waived"]
    assert (waived["reason"], waived["owner"], waived["expires"], waived["line"]) == (
        "Backups move to AWS Backup in Q1; the plan keeps 35 days there.", "team-data",
        NEXT_MONTH, 2)
    # Named relative to the config's directory, like every file in a report.
    assert (EXAMPLE / waived["file"]).resolve() == (tmp_path / "waivers.yaml").resolve()
    assert report["summary"]["waived"] == 1
    severity = finding["severity"]
    assert report["summary"]["by_severity"][severity] == \
        plain["summary"]["by_severity"][severity] - 1
    assert [w["state"] for w in report["waivers"]] == ["active"]
    assert report["waivers"][0]["matched"] == 1
    assert len(report["findings"]) == len(plain["findings"])


def test_waived_findings_do_not_gate(run_cli: Run, tmp_path: Path) -> None:
    # The bastion's SSH rule is critical; waived by pattern, with every other critical
    # finding of the example (if any) waived by name, the critical gate passes.
    plain = run_cli("scan", "--config", str(EXAMPLE), "--format", "json").json()
    critical = [f for f in plain["findings"]
                if f["status"] == "fail" and f["severity"] == "critical"]
    assert any(f["policy"] == "sg-no-world-admin" for f in critical)
    others = "".join(f"""
          - policy: {f["policy"]}
            resource: "{_ident(f)}"
            {f'item: "{f["item"]}"' if f["item"] else ""}
            environments: ["*"]
            reason: Not what this test is about.
            owner: team-platform
            expires: {NEXT_MONTH}""" for f in critical if f["policy"] != "sg-no-world-admin")
    waiver = _waivers(tmp_path, f"""
        waivers:
          - policy: sg-no-world-admin
            resource: SecurityGroup/chess-ai-*-bastion
            item: "tcp/22-22 *"
            environments: ["*"]
            reason: Bastion SSH is behind the VPN's egress IPs from January.
            owner: team-platform
            expires: {NEXT_MONTH}{others}
        """)
    assert run_cli("scan", "--config", str(EXAMPLE), "--fail-on", "critical").exit_code == 1
    result = _scan(run_cli, waiver, "--fail-on", "critical")
    assert result.exit_code == 0
    assert result.json()["gate"]["passed"] is True


def test_an_expired_waiver_no_longer_applies_and_is_reported(run_cli: Run,
                                                             tmp_path: Path) -> None:
    waiver = _waivers(tmp_path, RDS.replace(NEXT_MONTH, YESTERDAY))
    report = _scan(run_cli, waiver).json()
    (finding,) = _of(report, "rds-backups")
    assert finding["waived"] is None
    (expired,) = _of(report, "waiver-expired")
    assert expired["location"]["line"] == 2 and expired["location"]["file"].endswith(
        "waivers.yaml")
    assert f"expired on {YESTERDAY}" in expired["message"] and "team-data" in expired["message"]
    assert report["waivers"][0]["state"] == "expired"
    assert report["waivers"][0]["matched"] == 1  # what it would cover
    assert report["summary"]["waived"] == 0


def test_expiry_day_itself_still_applies(run_cli: Run, tmp_path: Path) -> None:
    """Judged as of --now (the time is an input): no run can straddle midnight."""
    waiver = _waivers(tmp_path, RDS.replace(NEXT_MONTH, "2031-02-28"))
    last = _scan(run_cli, waiver, "--now", "2031-02-28T23:59:59Z").json()
    assert _of(last, "rds-backups")[0]["waived"] is not None and not _of(last, "waiver-expired")
    after = _scan(run_cli, waiver, "--now", "2031-03-01T00:00:00Z").json()
    assert _of(after, "rds-backups")[0]["waived"] is None
    assert "expired on 2031-02-28" in _of(after, "waiver-expired")[0]["message"]
    # A moment in another zone counts by its UTC date.
    east = _scan(run_cli, waiver, "--now", "2031-03-01T08:00:00+09:00").json()
    assert _of(east, "rds-backups")[0]["waived"] is not None


def test_a_waiver_that_matches_nothing_is_stale(run_cli: Run, tmp_path: Path) -> None:
    waiver = _waivers(tmp_path, RDS.replace("DBInstance/chess-ai-prod",
                                            "DBInstance/chess-ai-staging"))
    report = _scan(run_cli, waiver).json()
    (stale,) = _of(report, "waiver-stale")
    assert "matches no finding" in stale["message"]
    assert stale["severity"] == "low" and stale["status"] == "fail"
    assert report["waivers"][0]["state"] == "stale"
    # A stale waiver is a low finding: it gates only a strict threshold.
    assert _scan(run_cli, waiver, "--fail-on", "never").exit_code == 0


def _two_environments(example_copy: Path) -> Path:
    config = example_copy / "auditor.yaml"
    text = config.read_text()
    config.write_text(text + "  staging:\n" + text.split("  prod:\n", 1)[1])
    return example_copy


def test_not_stale_where_its_policy_or_environment_was_not_checked(
        run_cli: Run, example_copy: Path, tmp_path: Path) -> None:
    _two_environments(example_copy)
    waiver = _waivers(tmp_path, f"""
        waivers:
          - policy: cert-expiry
            resource: Certificate/*
            environments: [prod]
            reason: live-only check, not run by a declared scan
            owner: team-platform
            expires: {NEXT_MONTH}
          - policy: rds-backups
            resource: DBInstance/chess-ai-prod
            environments: ["*"]
            reason: a nightly audits each environment in its own run
            owner: team-data
            expires: {NEXT_MONTH}
        """)
    # The rds waiver matches in prod; a staging-only run cannot call it stale.
    report = run_cli("scan", "--config", str(example_copy), "--env", "staging",
                     "--waivers", str(waiver), "--format", "json").json()
    assert [w["state"] for w in report["waivers"]] == ["active", "active"]
    assert not _of(report, "waiver-stale")
    # With every environment in the run, a waiver matching nothing is stale.
    both = run_cli("scan", "--config", str(example_copy), "--waivers", str(waiver),
                   "--format", "json").json()
    assert [w["state"] for w in both["waivers"]] == ["active", "active"]
    assert both["waivers"][1]["matched"] == 2


def test_unknown_environment_is_an_error(run_cli: Run, tmp_path: Path) -> None:
    result = _scan(run_cli, _waivers(tmp_path, RDS.replace("[prod]", "[prdo]")))
    assert result.exit_code == 2
    assert ":4: waivers[0].environments[0]: no environment 'prdo' in the config" in \
        result.stderr


def test_errors_are_never_waived(run_cli: Run, example_copy: Path, tmp_path: Path) -> None:
    (example_copy / "helm" / "values-prod.yaml").write_text("oops: [\n")
    waiver = _waivers(tmp_path, f"""
        waivers:
          - policy: input-error
            resource: File/*
            environments: ["*"]
            reason: trying to hide a broken file
            owner: nobody
            expires: {NEXT_MONTH}
        """)
    result = run_cli("scan", "--config", str(example_copy), "--waivers", str(waiver),
                     "--format", "json", "--fail-on", "never")
    assert result.exit_code == 3  # still incomplete: what was not evaluated is not accepted
    errors = [f for f in result.json()["findings"] if f["status"] == "error"]
    assert errors and all(f["waived"] is None for f in errors)


def test_duplicate_waiver_is_reported_as_such(run_cli: Run, tmp_path: Path) -> None:
    body = RDS.split("waivers:\n", 1)[1]
    report = _scan(run_cli, _waivers(tmp_path, "waivers:\n" + body + body)).json()
    assert [w["state"] for w in report["waivers"]] == ["active", "stale"]
    (stale,) = _of(report, "waiver-stale")
    assert "already covered by the waiver at" in stale["message"] and ":2" in stale["message"]


def test_names_with_slashes_and_brackets_match_as_printed(run_cli: Run,
                                                         tmp_path: Path) -> None:
    """Drift items and Secrets Manager names are matched exactly as the report prints
    them (a glob would read `[...]` as a character class)."""
    audit = run_cli("audit", "--config", str(EXAMPLE), "--live",
                    str(EXAMPLE / "live-snapshot.json"), "--format", "json").json()
    drift = next(f for f in audit["findings"] if f["side"] == "drift" and f["item"]
                 and "[" in f["item"])
    ident = _ident(drift)
    waiver = _waivers(tmp_path, f"""
        waivers:
          - policy: {drift["policy"]}
            resource: "{ident}"
            item: "{drift["item"]}"
            environments: [prod]
            reason: rolled back next sprint
            owner: team-web
            expires: {NEXT_MONTH}
        """)
    report = run_cli("audit", "--config", str(EXAMPLE), "--live",
                     str(EXAMPLE / "live-snapshot.json"), "--format", "json",
                     "--waivers", str(waiver)).json()
    assert report["waivers"][0]["state"] == "active" and report["waivers"][0]["matched"] == 1


def test_one_waiver_covers_the_declared_and_the_live_finding(run_cli: Run,
                                                             tmp_path: Path) -> None:
    result = run_cli("audit", "--config", str(EXAMPLE), "--live",
                     str(EXAMPLE / "live-snapshot.json"), "--format", "json",
                     "--waivers", str(_waivers(tmp_path, RDS)))
    report = result.json()
    found = _of(report, "rds-backups")
    assert sorted(f["side"] for f in found) == ["declared", "live"]
    assert all(f["waived"] and f["waived"]["owner"] == "team-data" for f in found)
    assert len({f["fingerprint"] for f in found}) == 1
    assert report["waivers"][0]["matched"] == 2


def test_default_waiver_file_beside_the_config(run_cli: Run, example_copy: Path) -> None:
    (example_copy / ".auditor-waivers.yaml").write_text(textwrap.dedent(RDS))
    report = run_cli("scan", "--config", str(example_copy), "--format", "json").json()
    (finding,) = _of(report, "rds-backups")
    assert finding["waived"]["file"] == ".auditor-waivers.yaml"


def test_config_key_names_the_waiver_file(run_cli: Run, example_copy: Path) -> None:
    (example_copy / "ops").mkdir()
    (example_copy / "ops" / "waivers.yaml").write_text(textwrap.dedent(RDS))
    config = example_copy / "auditor.yaml"
    config.write_text(config.read_text() + "waivers: ops/waivers.yaml\n")
    report = run_cli("scan", "--config", str(example_copy), "--format", "json").json()
    assert _of(report, "rds-backups")[0]["waived"]["file"] == "ops/waivers.yaml"
    config.write_text(config.read_text().replace("ops/waivers.yaml", "ops/nope.yaml"))
    missing = run_cli("scan", "--config", str(example_copy))
    assert missing.exit_code == 2 and "waivers: waiver file ops/nope.yaml not found" in \
        missing.stderr


@pytest.mark.parametrize(("text", "expected"), [
    (RDS.replace(f"    expires: {NEXT_MONTH}\n", ""),
     ":2: waivers[0].expires: Field required"),
    (RDS.replace(NEXT_MONTH, "next quarter"), ":7: waivers[0].expires: Input should be"),
    (RDS.replace("    owner: team-data\n", "    owner: '  '\n"),
     ":6: waivers[0].owner: Value error, must not be blank"),
    (RDS.replace("policy: rds-backups", "policy: rds-backup"),
     ":2: waivers[0].policy: no policy 'rds-backup'"),
    (RDS.replace("DBInstance/chess-ai-prod", "chess-ai-prod"),
     ":3: waivers[0].resource: Value error, expected kind/name"),
    (RDS.replace("    owner:", "    ownr:"), ":6: waivers[0].ownr: unknown key"),
    (RDS.replace("environments: [prod]", "environments: []"),
     ":4: waivers[0].environments: List should have at least 1 item"),
    (RDS.replace("    reason:", "  reason:"), ":5: invalid YAML"),
    ("- just a list\n", ":1: a waiver file is a mapping"),
])
def test_malformed_waiver_files(run_cli: Run, tmp_path: Path, text: str,
                                expected: str) -> None:
    path = _waivers(tmp_path, text)
    result = _scan(run_cli, path)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: {path}"), result.stderr
    assert expected in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_waiver_file_not_found(run_cli: Run, tmp_path: Path) -> None:
    result = _scan(run_cli, tmp_path / "none.yaml")
    assert result.exit_code == 2 and "waiver file not found" in result.stderr


def test_waivers_show_in_markdown_and_not_in_annotations(run_cli: Run, tmp_path: Path) -> None:
    waiver = _waivers(tmp_path, RDS)
    md = _scan(run_cli, waiver, "--format", "markdown").stdout
    assert "Waived (1, not gated)" in md
    assert f"waived until {NEXT_MONTH} by team-data: Backups move" in md
    annotations = _scan(run_cli, waiver, "--format", "github").stdout
    assert "rds-backups" not in annotations


def test_waivers_in_sarif_junit_and_table(run_cli: Run, tmp_path: Path) -> None:
    import json
    import xml.etree.ElementTree as ET

    waiver = _waivers(tmp_path, RDS)
    sarif = json.loads(_scan(run_cli, waiver, "--format", "sarif").stdout)
    (result,) = [r for r in sarif["runs"][0]["results"] if r["ruleId"] == "rds-backups"]
    assert result["suppressions"][0]["kind"] == "external"
    assert "team-data" in result["suppressions"][0]["justification"]
    junit = ET.fromstring(_scan(run_cli, waiver, "--format", "junit").stdout)
    (case,) = [c for c in junit.iter("testcase") if c.get("classname") == "rds-backups"]
    assert case.find("failure") is None
    skipped = case.find("skipped")
    assert skipped is not None and "waived until" in (skipped.get("message") or "")
    table = _scan(run_cli, waiver, "--format", "table").stdout
    assert "FAIL (waived)" in table and "| 1 waived" in table


def test_a_name_glob_never_matches_a_namespace() -> None:
    from auditor.models import Finding, Remediation, ResourceRef
    from auditor.waivers import Waiver, WaiverEntry

    def waiver(resource: str) -> Waiver:
        return Waiver(WaiverEntry(policy="storage-expandable", resource=resource,
                                  environments=["*"], reason="r", owner="o",
                                  expires=TODAY), "w.yaml", 1)

    pvc = Finding(policy="storage-expandable", title="t", severity="medium", status="fail",
                  environment="prod", side="declared",
                  resource=ResourceRef(kind="PersistentVolumeClaim", name="chess-ai-data",
                                       namespace="team-data", source="helm"),
                  message="m", runbook="", remediation=Remediation(text=""), fingerprint="f")
    assert not waiver("PersistentVolumeClaim/team-*").matches(pvc)
    assert waiver("PersistentVolumeClaim/team-*/*").matches(pvc)
    assert waiver("PersistentVolumeClaim/chess-*").matches(pvc)
    assert waiver("PersistentVolumeClaim/team-data/chess-ai-data").matches(pvc)
    assert not waiver("PersistentVolumeClaim/other/chess-ai-data").matches(pvc)
    secret = pvc.model_copy(update={"resource": ResourceRef(
        kind="SecretsManagerSecret", name="chess-ai/prod/database", source="aws")})
    assert waiver("SecretsManagerSecret/chess-ai/prod/database").matches(secret)
    assert waiver("SecretsManagerSecret/chess-ai/*").matches(secret)


def test_not_stale_where_inputs_could_not_be_read(run_cli: Run, example_copy: Path,
                                                  tmp_path: Path) -> None:
    values = example_copy / "helm" / "values-prod.yaml"
    values.write_text(values.read_text() + "oops: [\n")
    waiver = _waivers(tmp_path, RDS.replace("rds-backups", "liveness-probe").replace(
        "DBInstance/chess-ai-prod", "Deployment/chess-ai/chess-ai"))
    report = run_cli("scan", "--config", str(example_copy), "--waivers", str(waiver),
                     "--format", "json").json()
    assert report["waivers"][0]["state"] == "active"
    assert not _of(report, "waiver-stale")
