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
from auditor.formats.sarif_format import camel_case, render, runbook_links
from auditor.models import Finding, FindingLocation, PolicyInfo, RelatedLocation, Report

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
    # No file of its own and no declared twin: the config file that names the environment
    # (code scanning refuses the whole upload over a result with only a logical location).
    assert location["physicalLocation"] == {
        "artifactLocation": {"uri": "auditor.yaml", "uriBaseId": "%SRCROOT%"}}
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
                                                 ("rds-backups-7d", "RdsBackups7d"),
                                                 # a report read from a file may use capitals
                                                 ("K8s-HPA", "K8sHPA")])
def test_camel_case(policy_id: str, name: str) -> None:
    assert camel_case(policy_id) == name


# ---- the document as text ------------------------------------------------------------------

def test_rendered_document_is_indented_two_spaces(report: Report) -> None:
    assert render(report).startswith(
        '{\n  "$schema": "https://json.schemastore.org/sarif-2.1.0.json",\n'
        '  "version": "2.1.0",\n  "runs": [\n    {\n      "tool": {\n')


def test_non_ascii_text_is_written_as_utf8_not_escaped(
        report_factory: Callable[..., Report], finding_factory: Callable[..., Finding]) -> None:
    text = render(report_factory(findings=[finding_factory(
        "hpa-present", "fail", "prod", "café", file="values.yaml", message="naïve «HPA» 日本")]))
    assert "Deployment/chess-ai/café" in text
    assert '"text": "naïve «HPA» 日本 Remediation: Fix café."' in text
    assert "\\u" not in text


# ---- run-level metadata --------------------------------------------------------------------

def test_run_records_service_environments_and_end_time(report: Report) -> None:
    run = _sarif(report)["runs"][0]
    assert run["properties"] == {"service": "chess-ai", "environments": ["prod", "staging"]}
    # SARIF times are ISO 8601 in UTC with a Z.
    assert run["invocations"][0]["endTimeUtc"] == "2024-05-01T12:00:00Z"
    assert run["originalUriBaseIds"] == {"%SRCROOT%": {"description": {
        "text": "The root of the repository that holds the auditor configuration "
                "(the config file's directory outside a git work tree)."}}}


def test_tool_without_a_version_is_unknown(report_factory: Callable[..., Report]) -> None:
    data = _sarif(report_factory(tool={"name": "runbook-auditor"}))
    _validate(data)
    assert data["runs"][0]["tool"]["driver"]["version"] == "unknown"


# ---- rules ---------------------------------------------------------------------------------

def test_rule_help_and_properties_in_full(report: Report) -> None:
    rule = _sarif(report)["runs"][0]["tool"]["driver"]["rules"][0]
    url = SITE + "common-issues/crash-loop/#liveness"
    assert rule["id"] == "liveness-probe"
    assert rule["help"] == {
        "text": f"Restart hung pods.\n\nRunbook: 1. Crash loop ({url})",
        "markdown": f"Restart hung pods.\n\n**Runbook:** [1. Crash loop]({url})",
    }
    assert rule["properties"] == {"tags": ["runbook-auditor", "security", "critical"],
                                  "security-severity": "9.5", "precision": "high"}


def test_rule_help_markdown_escapes_policy_text_and_encodes_the_link(
        report_factory: Callable[..., Report], finding_factory: Callable[..., Finding]) -> None:
    policy = PolicyInfo(id="memory-limits", title="Containers set memory limits",
                        severity="medium", runbook="oom/#limits", runbook_section="3. OOM (#1)",
                        description="Set `limits.memory` *per container*, not <values>!")
    found = finding_factory("memory-limits", "fail", "prod", "api", file="values.yaml")
    found = found.model_copy(update={"runbook": "oom/#limits",
                                     "runbook_url": "https://wiki.example.com/Ops_(mem)/#oom"})
    rule = _sarif(report_factory(findings=[found], policies=[policy]))["runs"][0]["tool"][
        "driver"]["rules"][0]
    assert rule["helpUri"] == "https://wiki.example.com/Ops_(mem)/#oom"
    # Plain text stays as written; in markdown no character of it becomes markup.
    assert rule["help"]["text"] == ("Set `limits.memory` *per container*, not <values>!\n\n"
                                    "Runbook: 3. OOM (#1) (https://wiki.example.com/Ops_(mem)/#oom)")
    assert rule["help"]["markdown"] == (
        "Set \\`limits.memory\\` \\*per container\\*, not \\<values\\>\\!\n\n"
        "**Runbook:** [3. OOM \\(\\#1\\)](https://wiki.example.com/Ops_%28mem%29/#oom)")


def test_findings_of_an_unlisted_policy_make_one_rule(
        report_factory: Callable[..., Report], finding_factory: Callable[..., Finding]) -> None:
    findings = [finding_factory("not-listed", "fail", env, "b", file="x.yaml", line=1)
                for env in ("prod", "staging")]
    data = _sarif(report_factory(findings=findings, policies=[]))
    _validate(data)
    run = data["runs"][0]
    assert [r["id"] for r in run["tool"]["driver"]["rules"]] == ["not-listed"]
    assert [r["ruleIndex"] for r in run["results"]] == [0, 0]


# ---- runbook links and the site URL --------------------------------------------------------

def test_runbook_links_of_the_default_report(report: Report) -> None:
    # Input errors have no runbook, hence no link.
    assert runbook_links(report) == {p.id: SITE + p.runbook for p in report.policies}


def test_runbook_links_prefer_the_findings_url_then_the_policy_then_the_finding(
        report_factory: Callable[..., Report], finding_factory: Callable[..., Finding]) -> None:
    wiki = "https://wiki.example.com/pages/123"
    own = finding_factory("hpa-present", "fail", "prod", "a", file="values.yaml")
    findings = [
        # Not under the runbook site: its URL tells nothing about the site's base.
        own.model_copy(update={"runbook_url": wiki}),
        finding_factory("liveness-probe", "fail", "prod", "b", file="values.yaml"),
        # Its policy's section wins over the finding's own (which has no URL).
        finding_factory("rds-backups", "fail", "prod", "c", file="values.yaml", link=False)
        .model_copy(update={"runbook": "elsewhere/#rds"}),
        # Not a listed policy, no URL: built from the finding's section.
        finding_factory("not-listed", "fail", "prod", "d", file="values.yaml", link=False)
        .model_copy(update={"runbook": "extra/#not-listed"}),
    ]
    report = report_factory(findings=findings)
    expected = {p.id: SITE + p.runbook for p in report.policies} | {
        "hpa-present": wiki, "not-listed": SITE + "extra/#not-listed"}
    assert runbook_links(report) == expected
    rules = _sarif(report)["runs"][0]["tool"]["driver"]["rules"]
    assert {r["id"]: r["helpUri"] for r in rules} == expected


def test_http_runbook_site_is_used(report_factory: Callable[..., Report],
                                   finding_factory: Callable[..., Finding]) -> None:
    local = "http://runbooks.internal:8080/"
    found = finding_factory("hpa-present", "fail", "prod", "a", file="values.yaml")
    report = report_factory(findings=[found.model_copy(
        update={"runbook_url": local + found.runbook})])
    rules = _sarif(report)["runs"][0]["tool"]["driver"]["rules"]
    assert {r["id"]: r["helpUri"] for r in rules} == {
        p.id: local + p.runbook for p in report.policies}


@pytest.mark.parametrize("url", [
    "javascript:alert(1)//common-issues/high-latency/#scale-up-pods",
    "ftp://files.example.com/common-issues/high-latency/#scale-up-pods",
    "http:common-issues/high-latency/#scale-up-pods",
    "/chess/common-issues/high-latency/#scale-up-pods",
])
def test_runbook_url_that_is_not_a_web_link_is_never_used(
        report_factory: Callable[..., Report], finding_factory: Callable[..., Finding],
        url: str) -> None:
    found = finding_factory("hpa-present", "fail", "prod", "a", file="values.yaml")
    report = report_factory(findings=[found.model_copy(update={"runbook_url": url})])
    data = _sarif(report)
    _validate(data)
    driver = data["runs"][0]["tool"]["driver"]
    assert driver["informationUri"] == "http://127.0.0.1:8000/"
    assert {r["id"]: r["helpUri"] for r in driver["rules"]} == {
        p.id: "http://127.0.0.1:8000/" + p.runbook for p in report.policies}


# ---- results -------------------------------------------------------------------------------

def test_result_properties_name_the_resource_and_its_item(report: Report) -> None:
    results = _sarif(report)["runs"][0]["results"]
    assert results[0]["properties"] == {"environment": "prod", "side": "declared",
                                        "resource": "Deployment/chess-ai/api[web]",
                                        "status": "fail"}
    assert results[2]["properties"]["resource"] == "Deployment/chess-ai/worker"


@pytest.mark.parametrize(("line", "region"), [(1, {"startLine": 1}), (2, {"startLine": 2}),
                                              (0, None), (None, None)])
def test_only_lines_from_one_get_a_region(
        report_factory: Callable[..., Report], finding_factory: Callable[..., Finding],
        line: int | None, region: dict[str, int] | None) -> None:
    found = finding_factory("hpa-present", "fail", "prod", "a", file="values.yaml", line=line)
    data = _sarif(report_factory(findings=[found]))
    _validate(data)
    physical = data["runs"][0]["results"][0]["locations"][0]["physicalLocation"]
    assert physical.get("region") == region


def test_windows_separators_become_slashes(
        report_factory: Callable[..., Report], finding_factory: Callable[..., Finding]) -> None:
    found = finding_factory("hpa-present", "fail", "prod", "a", file="helm\\values prod.yaml")
    result = _sarif(report_factory(findings=[found]))["runs"][0]["results"][0]
    assert result["locations"][0]["physicalLocation"]["artifactLocation"] == {
        "uri": "helm/values%20prod.yaml", "uriBaseId": "%SRCROOT%"}


def test_module_lines_that_use_the_value_are_related_locations(
        report_factory: Callable[..., Report], finding_factory: Callable[..., Finding]) -> None:
    found = finding_factory("rds-backups", "fail", "prod", "db", file="envs/prod.tfvars", line=4)
    found = found.model_copy(update={"location": FindingLocation(
        file="envs/prod.tfvars", line=4,
        related=[RelatedLocation(file="modules/db/main.tf", line=12),
                 RelatedLocation(file="modules/db/replica.tf")])})
    data = _sarif(report_factory(findings=[found]))
    _validate(data)
    result = data["runs"][0]["results"][0]
    assert result["locations"][0]["physicalLocation"] == {
        "artifactLocation": {"uri": "envs/prod.tfvars", "uriBaseId": "%SRCROOT%"},
        "region": {"startLine": 4}}
    assert result["relatedLocations"] == [
        {"id": 1, "physicalLocation": {
            "artifactLocation": {"uri": "modules/db/main.tf", "uriBaseId": "%SRCROOT%"},
            "region": {"startLine": 12}},
         "message": {"text": "the module uses the value here"}},
        {"id": 2, "physicalLocation": {
            "artifactLocation": {"uri": "modules/db/replica.tf", "uriBaseId": "%SRCROOT%"}},
         "message": {"text": "the module uses the value here"}},
    ]


def test_no_related_locations_key_without_related_lines(report: Report) -> None:
    assert all("relatedLocations" not in r for r in _sarif(report)["runs"][0]["results"])


# ---- paths from the repository root --------------------------------------------------------

@pytest.mark.parametrize(("root", "uri"), [
    ("infra", "infra/helm/chess-ai/templates/deployment.yaml"),
    ("infra/", "infra/helm/chess-ai/templates/deployment.yaml"),
    ("ops/ONYX", "ops/ONYX/helm/chess-ai/templates/deployment.yaml"),
    ("infra/chess/../", "infra/helm/chess-ai/templates/deployment.yaml"),
    # git allows a directory name that ends in a space: it is kept, and encoded
    ("cfg dir ", "cfg%20dir%20/helm/chess-ai/templates/deployment.yaml"),
])
def test_files_are_made_relative_to_the_repository_root(
        report_factory: Callable[..., Report], root: str, uri: str) -> None:
    data = _sarif(report_factory(source_root=root, config_file="audit.yaml"))
    _validate(data)
    run = data["runs"][0]
    results = run["results"]
    # The live twin borrows the moved location; the unlocated live finding points to the
    # config file, in the same directory.
    for result in results[:2]:
        assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == uri
    assert results[2]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == (
        uri.removesuffix("helm/chess-ai/templates/deployment.yaml") + "audit.yaml")
    notes = run["invocations"][0]["toolExecutionNotifications"]
    assert notes[1]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == (
        uri.removesuffix("helm/chess-ai/templates/deployment.yaml") + "terraform/main.tf")


def test_absolute_files_are_not_moved_under_the_root(
        report_factory: Callable[..., Report], finding_factory: Callable[..., Finding]) -> None:
    found = finding_factory("hpa-present", "fail", "prod", "a", file="/etc/chess/values.yaml")
    result = _sarif(report_factory(findings=[found], source_root="infra"))["runs"][0][
        "results"][0]
    assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == (
        "/etc/chess/values.yaml")


# ---- notifications -------------------------------------------------------------------------

def test_notifications_in_full(report: Report) -> None:
    notes = _sarif(report)["runs"][0]["invocations"][0]["toolExecutionNotifications"]
    assert notes == [
        {"level": "error", "message": {"text": "staging: AccessDenied on rds"},
         "properties": {"environment": "staging", "side": "live",
                        "resource": "aws_db_instance/db", "policy": "rds-backups"},
         "associatedRule": {"id": "rds-backups", "index": 3}},
        {"level": "error", "message": {"text": "staging: terraform/main.tf:3: unexpected '}'"},
         "properties": {"environment": "staging", "side": "declared",
                        "resource": "File/terraform/main.tf", "policy": "input-error"},
         "locations": [{"physicalLocation": {
             "artifactLocation": {"uri": "terraform/main.tf", "uriBaseId": "%SRCROOT%"},
             "region": {"startLine": 3}}}]},
    ]


def test_related_locations_are_moved_under_the_source_root_like_the_location(
        report_factory: Callable[..., Report], finding_factory: Callable[..., Finding]) -> None:
    # Both are relative to the config file's directory; code scanning resolves from the
    # repository root, so both move (a related line left behind pointed at the wrong file).
    found = finding_factory("rds-backups", "fail", "prod", "db", file="envs/prod.tfvars", line=4)
    found = found.model_copy(update={"location": FindingLocation(
        file="envs/prod.tfvars", line=4,
        related=[RelatedLocation(file="../modules/db/main.tf", line=12),
                 RelatedLocation(file="/abs/main.tf", line=1)])})
    result = _sarif(report_factory(findings=[found], source_root="deploy/prod/"))[
        "runs"][0]["results"][0]
    uris = [loc["physicalLocation"]["artifactLocation"]["uri"]
            for loc in result["locations"] + result["relatedLocations"]]
    assert uris == ["deploy/prod/envs/prod.tfvars", "deploy/modules/db/main.tf",
                    "/abs/main.tf"]


def test_every_result_has_a_file_as_code_scanning_requires(report: Report) -> None:
    # GitHub rejects the whole SARIF upload when one result lacks
    # locations[].physicalLocation.artifactLocation.uri ("expected artifact location").
    for result in _sarif(report)["runs"][0]["results"]:
        assert result["locations"], result["ruleId"]
        for location in result["locations"]:
            assert location["physicalLocation"]["artifactLocation"]["uri"], result["ruleId"]
