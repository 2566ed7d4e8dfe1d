"""JUnit XML output: parses, counts add up, and every outcome has the right element."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable

import pytest

from auditor.formats import renderer
from auditor.formats.junit_format import render
from auditor.models import Finding, PassedCheck, Report, ResourceRef, Side, fingerprint

SCRIPT = "<script>alert(1)</script>"
SITE = "https://runbooks.example.com/chess/"


def _parse(report: Report) -> tuple[str, ET.Element]:
    text = render(report)
    return text, ET.fromstring(text.encode("utf-8"))


def _case(root: ET.Element, suite: str, classname: str, name: str) -> ET.Element:
    found = root.find(f"testsuite[@name='{suite}']")
    assert found is not None, suite
    for case in found.findall("testcase"):
        if case.get("classname") == classname and case.get("name") == name:
            return case
    raise AssertionError(f"no testcase {classname} {name} in {suite}")


def test_registered_declaration_and_suites(report: Report) -> None:
    assert renderer("junit") is render
    text, root = _parse(report)
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n')
    assert root.tag == "testsuites"
    assert [s.get("name") for s in root.findall("testsuite")] == [
        "runbook-auditor.prod", "runbook-auditor.staging"]


def test_counts_add_up(report: Report) -> None:
    _, root = _parse(report)
    # prod: 3 testcases with findings + 3 passes; staging: 3 with findings + 1 pass.
    expected = {"runbook-auditor.prod": (6, 2, 0, 1), "runbook-auditor.staging": (4, 1, 2, 0)}
    for suite in root.findall("testsuite"):
        cases = suite.findall("testcase")
        counts = tuple(int(suite.get(k, "-1")) for k in ("tests", "failures", "errors",
                                                         "skipped"))
        assert counts == expected[suite.get("name", "")]
        assert counts[0] == len(cases)
        for attr, tag in (("failures", "failure"), ("errors", "error"),
                          ("skipped", "skipped")):
            assert int(suite.get(attr, "-1")) == sum(1 for c in cases
                                                     if c.find(tag) is not None)
    assert (root.get("tests"), root.get("failures"), root.get("errors"),
            root.get("skipped")) == ("10", "3", "2", "1")


def test_failure_groups_the_sides_of_one_defect(report: Report) -> None:
    _, root = _parse(report)
    case = _case(root, "runbook-auditor.prod", "liveness-probe", "Deployment/chess-ai/api[web]")
    failure = case.find("failure")
    assert failure is not None
    assert failure.get("type") == "critical"
    assert failure.get("message") == "container web has no livenessProbe"
    body = failure.text or ""
    assert "location: helm/chess-ai/templates/deployment.yaml:42" in body
    assert "$ helm upgrade chess-ai helm/chess-ai -n chess-ai" in body
    assert "[fail, live]" in body and "[fail, declared]" in body


def test_error_skipped_and_passing(report: Report) -> None:
    _, root = _parse(report)
    rds = _case(root, "runbook-auditor.staging", "rds-backups", "aws_db_instance/db")
    error = rds.find("error")
    assert error is not None and error.get("message") == "AccessDenied on rds"
    bad_input = _case(root, "runbook-auditor.staging", "input-error", "File/terraform/main.tf")
    assert bad_input.find("error") is not None
    unknown = _case(root, "runbook-auditor.prod", "memory-limits",
                    f"Deployment/chess-ai/{SCRIPT}")
    skipped = unknown.find("skipped")
    assert skipped is not None
    assert skipped.get("message") == "unknown: memory limit comes from an unset value"
    # One testcase per (policy, resource) for passes too, named stably for CI history.
    passing = _case(root, "runbook-auditor.prod", "memory-limits", "Deployment/chess-ai/api[web]")
    assert list(passing) == []
    assert _case(root, "runbook-auditor.staging", "hpa-present",
                 "Deployment/chess-ai/api") is not None


def test_escapes_markup_and_drops_invalid_characters(
        report_factory: Callable[..., Report], finding_factory: Callable[..., Finding]) -> None:
    findings = [finding_factory("hpa-present", "fail", "prod", 'x"&<y>',
                                message="bad \x1b[31mred\x1b[0m ]]> & \"quoted\"\nline 2")]
    text, root = _parse(report_factory(findings=findings, passes={}))
    assert SCRIPT not in text and "\x1b" not in text
    case = _case(root, "runbook-auditor.prod", "hpa-present", 'Deployment/chess-ai/x"&<y>')
    failure = case.find("failure")
    assert failure is not None
    assert failure.get("message") == 'bad \ufffd[31mred\ufffd[0m ]]> & "quoted" line 2'
    assert "line 2" in (failure.text or "")


def test_escaped_script_name(report: Report) -> None:
    text, _ = _parse(report)
    assert SCRIPT not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text


def test_empty_report(report_factory: Callable[..., Report]) -> None:
    _, root = _parse(report_factory(findings=[], passes={}))
    assert [s.get("name") for s in root.findall("testsuite")] == [
        "runbook-auditor.prod", "runbook-auditor.staging"]
    assert root.get("tests") == "0"


def test_root_is_named_after_the_tool(report: Report) -> None:
    _, root = _parse(report)
    assert root.get("name") == "runbook-auditor"


def test_every_suite_and_testcase_takes_zero_seconds(report: Report) -> None:
    """An audit measures no durations: CI widgets read ``time`` as seconds, so it is "0"."""
    _, root = _parse(report)
    assert root.get("time") == "0"
    for suite in root.findall("testsuite"):
        assert suite.get("time") == "0"
        cases = suite.findall("testcase")
        assert [c.get("time") for c in cases] == ["0"] * len(cases)
    # prod holds failures, a skipped test and passes: each kind of testcase is timed.
    prod = root.find("testsuite[@name='runbook-auditor.prod']")
    assert prod is not None and len(prod.findall("testcase")) == 6


def test_each_suite_records_its_time_service_environment_and_tool_version(
        report: Report) -> None:
    _, root = _parse(report)
    assert len(root.findall("testsuite")) == 2
    for suite in root.findall("testsuite"):
        env = suite.get("name", "").removeprefix("runbook-auditor.")
        # ISO 8601 without a zone, as the JUnit schema wants it (generated_at is UTC).
        assert suite.get("timestamp") == "2024-05-01T12:00:00"
        props = suite.find("properties")
        assert props is not None
        assert [(p.tag, p.attrib) for p in props] == [
            ("property", {"name": "service", "value": "chess-ai"}),
            ("property", {"name": "environment", "value": env}),
            ("property", {"name": "version", "value": "0.1.0"}),
        ]


def test_version_property_is_empty_when_the_report_names_no_version(
        report_factory: Callable[..., Report]) -> None:
    _, root = _parse(report_factory(tool={"name": "runbook-auditor"}))
    for props in root.iter("properties"):
        assert {p.get("name"): p.get("value") for p in props}["version"] == ""


def test_failure_body_holds_each_side_with_location_runbook_and_fix(report: Report) -> None:
    _, root = _parse(report)
    case = _case(root, "runbook-auditor.prod", "liveness-probe", "Deployment/chess-ai/api[web]")
    failure = case.find("failure")
    assert failure is not None
    runbook = f"runbook: {SITE}common-issues/crash-loop/#liveness"
    assert failure.text == (
        "[fail, declared] container web has no livenessProbe\n"
        "location: helm/chess-ai/templates/deployment.yaml:42\n"
        f"{runbook}\n"
        "remediation: Fix api.\n"
        "  $ helm upgrade chess-ai helm/chess-ai -n chess-ai\n"
        "  $ kubectl -n chess-ai rollout status deployment/api"
        "\n\n"
        "[fail, live] container web has no livenessProbe (live)\n"
        f"{runbook}\n"
        "remediation: Fix api.")


@pytest.mark.parametrize(("classname", "name", "body"), [
    # No URL: the runbook section's site path still says where to read.
    ("rds-backups", "aws_db_instance/db",
     "[error, live] AccessDenied on rds\nrunbook: data/backups/#rds\nremediation: Fix db."),
    # An input error has no runbook at all: no runbook line.
    ("input-error", "File/terraform/main.tf",
     "[error, declared] terraform/main.tf:3: unexpected '}'\n"
     "location: terraform/main.tf:3\nremediation: Fix the file."),
])
def test_error_body_shows_the_runbook_it_has(report: Report, classname: str, name: str,
                                             body: str) -> None:
    _, root = _parse(report)
    error = _case(root, "runbook-auditor.staging", classname, name).find("error")
    assert error is not None
    assert error.text == body


def test_body_lists_fix_commands_then_commands_that_only_look(
        report_factory: Callable[..., Report], finding_factory: Callable[..., Finding]) -> None:
    found = finding_factory("hpa-present", "fail", "prod", "api", link=False,
                            commands=["kubectl apply -f hpa.yaml"])
    found.remediation.checks = ["kubectl get hpa"]
    _, root = _parse(report_factory(findings=[found], passes={}))
    failure = _case(root, "runbook-auditor.prod", "hpa-present",
                    "Deployment/chess-ai/api").find("failure")
    assert failure is not None
    assert (failure.text or "").splitlines()[-2:] == [
        "  $ kubectl apply -f hpa.yaml", "  look: $ kubectl get hpa"]


def test_most_severe_of_equally_failing_sides_names_the_failure(
        report_factory: Callable[..., Report], finding_factory: Callable[..., Finding]) -> None:
    """The sides of one defect share their policy's severity when the auditor writes them;
    a report read back from JSON is not held to that: the most severe side speaks."""
    mild = finding_factory("hpa-present", "fail", "prod", "api", message="mild on declared")
    mild.severity = "low"
    severe = finding_factory("hpa-present", "fail", "prod", "api", side="live",
                             message="severe on live")
    severe.severity = "critical"
    _, root = _parse(report_factory(findings=[mild, severe], passes={}))
    failure = _case(root, "runbook-auditor.prod", "hpa-present",
                    "Deployment/chess-ai/api").find("failure")
    assert failure is not None
    assert (failure.get("message"), failure.get("type")) == ("severe on live", "critical")


def _passed(side: Side) -> PassedCheck:
    return PassedCheck(policy="hpa-present", environment="prod", side=side,
                       resource=ResourceRef(kind="Deployment", name="api", namespace="chess-ai",
                                            source="helm"),
                       fingerprint=fingerprint("hpa-present", "prod", "Deployment", "chess-ai",
                                               "api", None))


def test_a_check_passing_on_both_sides_is_one_testcase(
        report_factory: Callable[..., Report]) -> None:
    report = report_factory(findings=[], passed=[_passed("declared"), _passed("live")])
    _, root = _parse(report)
    suite = root.find("testsuite[@name='runbook-auditor.prod']")
    assert suite is not None
    assert [(c.get("classname"), c.get("name")) for c in suite.findall("testcase")] == [
        ("hpa-present", "Deployment/chess-ai/api")]
    assert (suite.get("tests"), root.get("tests")) == ("1", "1")


def test_suites_follow_the_report_s_environments_then_those_only_findings_name(
        report_factory: Callable[..., Report],
        finding_factory: Callable[..., Finding]) -> None:
    # Findings and passes interleaved across environments: each lands in its own suite.
    found = [finding_factory("hpa-present", "fail", env, "api") for env in
             ("b", "extra", "a", "b", "a")]
    found[3] = finding_factory("memory-limits", "fail", "b", "worker")
    passed = [PassedCheck(policy="log-retention", environment=env, side="declared",
                          resource=ResourceRef(kind="HelmValues", name="app", source="helm"),
                          fingerprint=fingerprint("log-retention", env, "HelmValues", None,
                                                  "app", None))
              for env in ("a", "elsewhere", "b")]
    _, root = _parse(report_factory(found, passed=passed, environments=["a", "b", "quiet"]))
    suites = {s.get("name"): s for s in root.findall("testsuite")}
    assert list(suites) == [f"runbook-auditor.{e}" for e in ("a", "b", "quiet", "extra")]
    names = {env: sorted(c.get("classname", "") for c in suites[f"runbook-auditor.{env}"]
                         .findall("testcase")) for env in ("a", "b", "quiet", "extra")}
    assert names == {"a": ["hpa-present", "log-retention"],
                     "b": ["hpa-present", "log-retention", "memory-limits"],
                     "quiet": [], "extra": ["hpa-present"]}
