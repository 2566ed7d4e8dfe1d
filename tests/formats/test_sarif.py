"""SARIF output: valid against the official 2.1.0 schema, and shaped as GitHub reads it."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import pytest

from auditor.formats import renderer
from auditor.formats.sarif_format import camel_case, render
from auditor.models import Finding, Report

SCHEMA = json.loads((Path(__file__).parent.parent / "data" / "sarif-schema-2.1.0.json")
                    .read_text(encoding="utf-8"))
SITE = "https://runbooks.example.com/chess/"


def _sarif(report: Report) -> dict[str, Any]:
    text = render(report)
    assert text.endswith("}\n")
    data: dict[str, Any] = json.loads(text)
    return data


def _validate(data: dict[str, Any]) -> None:
    validator = jsonschema.validators.validator_for(SCHEMA)
    validator.check_schema(SCHEMA)
    errors = sorted(validator(SCHEMA).iter_errors(data), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)


def test_registered_and_valid_against_schema(report: Report) -> None:
    assert renderer("sarif") is render
    data = _sarif(report)
    _validate(data)
    assert data["version"] == "2.1.0"
    assert data["$schema"] == "https://json.schemastore.org/sarif-2.1.0.json"
    assert len(data["runs"]) == 1


def test_empty_report_is_valid(report_factory: Callable[..., Report]) -> None:
    data = _sarif(report_factory(findings=[], passes={}))
    _validate(data)
    run = data["runs"][0]
    assert run["results"] == []
    assert run["invocations"][0]["executionSuccessful"] is True
    # No finding to learn the site from: the default local site.
    assert run["tool"]["driver"]["rules"][0]["helpUri"].startswith("http://127.0.0.1:8000/")


def test_driver_and_rules(report: Report) -> None:
    driver = _sarif(report)["runs"][0]["tool"]["driver"]
    assert driver["name"] == "runbook-auditor"
    assert driver["version"] == "0.1.0"
    rules = {r["id"]: r for r in driver["rules"]}
    assert list(rules) == [p.id for p in report.policies]
    hpa = rules["hpa-present"]
    assert hpa["name"] == "HpaPresent"
    assert hpa["shortDescription"]["text"] == "Deployments scale with an HPA"
    assert hpa["fullDescription"]["text"] == "More pods."
    assert hpa["helpUri"] == SITE + "common-issues/high-latency/#scale-up-pods"
    assert "2. High Latency: Scale Up Pods" in hpa["help"]["text"]
    assert f"]({hpa['helpUri']})" in hpa["help"]["markdown"]
    assert hpa["defaultConfiguration"]["level"] == "error"
    assert hpa["properties"]["security-severity"] == "8.0"
    assert "security" in hpa["properties"]["tags"]
    levels = {i: (r["defaultConfiguration"]["level"], r["properties"]["security-severity"])
              for i, r in rules.items()}
    assert levels["liveness-probe"] == ("error", "9.5")
    assert levels["memory-limits"] == ("warning", "5.5")
    assert levels["rds-backups"] == ("note", "3.0")
    for rule in rules.values():
        url = urlsplit(rule["helpUri"])
        assert url.scheme == "https" and url.netloc, rule["helpUri"]
    # No finding links these two: the site URL inferred from another finding is used.
    assert rules["log-retention"]["helpUri"] == SITE + "observability/#retention"
    assert rules["rds-backups"]["helpUri"] == SITE + "data/backups/#rds"


def test_results_point_at_rules_and_files(report: Report) -> None:
    run = _sarif(report)["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    results = run["results"]
    expected = [f for f in report.findings if f.status in ("fail", "unknown")]
    assert len(results) == len(expected) == 5
    for result, finding in zip(results, expected, strict=True):
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"] == finding.policy
        assert result["partialFingerprints"] == {"runbookAuditor/v1": finding.fingerprint}
        assert result["properties"]["environment"] == finding.environment
        assert result["properties"]["side"] == finding.side
        assert result["properties"]["status"] == finding.status
        assert len(result["locations"]) == 1
        for location in result["locations"]:
            physical = location.get("physicalLocation")
            if physical:
                assert physical["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
                assert not physical["artifactLocation"]["uri"].startswith("/")
                assert physical.get("region", {"startLine": 1})["startLine"] >= 1
    assert "%SRCROOT%" in run["originalUriBaseIds"]

    first = results[0]
    assert first["level"] == "error"
    assert first["message"]["text"] == ("container web has no livenessProbe "
                                        "Remediation: Fix api.")
    physical = first["locations"][0]["physicalLocation"]
    assert physical["artifactLocation"]["uri"] == "helm/chess-ai/templates/deployment.yaml"
    assert physical["region"] == {"startLine": 42}


def test_unknown_is_a_note(report: Report) -> None:
    results = _sarif(report)["runs"][0]["results"]
    unknown = next(r for r in results if r["properties"]["status"] == "unknown")
    assert unknown["level"] == "note"
    assert unknown["message"]["text"].startswith("unknown: memory limit")
    # A file without a line: no region rather than an invalid startLine.
    assert "region" not in unknown["locations"][0]["physicalLocation"]


def test_live_findings_get_a_logical_location(report: Report) -> None:
    results = _sarif(report)["runs"][0]["results"]
    worker = next(r for r in results if "worker" in r["properties"]["resource"])
    location = worker["locations"][0]
    assert "physicalLocation" not in location
    assert location["logicalLocations"] == [{
        "name": "Deployment/worker", "fullyQualifiedName": "prod/Deployment/chess-ai/worker",
        "kind": "resource"}]
    # A live finding whose declared twin is located borrows its file and line.
    live = next(r for r in results if r["properties"]["side"] == "live"
                and r["ruleId"] == "liveness-probe")
    assert live["locations"][0]["physicalLocation"]["region"] == {"startLine": 42}
    assert live["locations"][0]["logicalLocations"][0]["kind"] == "resource"


def test_errors_become_notifications(report: Report) -> None:
    run = _sarif(report)["runs"][0]
    invocation = run["invocations"][0]
    assert invocation["executionSuccessful"] is False
    notes = invocation["toolExecutionNotifications"]
    assert [n["level"] for n in notes] == ["error", "error"]
    assert {n["properties"]["policy"] for n in notes} == {"rds-backups", "input-error"}
    assert all(r["properties"]["status"] != "error" for r in run["results"])
    bad_input = next(n for n in notes if n["properties"]["policy"] == "input-error")
    physical = bad_input["locations"][0]["physicalLocation"]
    assert physical["artifactLocation"]["uri"] == "terraform/main.tf"
    assert physical["region"]["startLine"] == 3
    rds = next(n for n in notes if n["properties"]["policy"] == "rds-backups")
    assert "locations" not in rds
    assert run["tool"]["driver"]["rules"][rds["associatedRule"]["index"]]["id"] == "rds-backups"


def test_unknown_only_run_is_successful(report_factory: Callable[..., Report],
                                        report: Report) -> None:
    findings = [f for f in report.findings if f.status != "error"]
    data = _sarif(report_factory(findings=findings))
    _validate(data)
    assert data["runs"][0]["invocations"][0]["executionSuccessful"] is True


def test_odd_input_stays_valid(report_factory: Callable[..., Report],
                               finding_factory: Callable[..., Finding]) -> None:
    findings = [
        finding_factory("hpa-present", "fail", "prod", "a", file="dir with space/v.yaml",
                        line=0, link=False),
        # A policy the report does not list still gets a rule to point at.
        finding_factory("not-listed", "fail", "prod", "b", file="x.yaml", line=1),
    ]
    data = _sarif(report_factory(findings=findings, policies=[]))
    _validate(data)
    run = data["runs"][0]
    first, second = run["results"]
    physical = first["locations"][0]["physicalLocation"]
    assert physical["artifactLocation"]["uri"] == "dir%20with%20space/v.yaml"
    assert "region" not in physical  # line 0 is not a SARIF line
    assert run["tool"]["driver"]["rules"][second["ruleIndex"]]["id"] == "not-listed"


@pytest.mark.parametrize(("policy_id", "name"), [("hpa-present", "HpaPresent"),
                                                 ("rds-backups-7d", "RdsBackups7d")])
def test_camel_case(policy_id: str, name: str) -> None:
    assert camel_case(policy_id) == name
