"""JUnit XML output: parses, counts add up, and every outcome has the right element."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable

from auditor.formats import renderer
from auditor.formats.junit_format import render
from auditor.models import Finding, Report

SCRIPT = "<script>alert(1)</script>"


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
