"""JUnit XML for CI test-report widgets: one ``<testsuite>`` per environment, one
``<testcase>`` per policy and resource (item included): a failure, an error, a skipped
test (unknown, or waived) or a pass. Test names are stable (policy and resource), so CI history
follows each check across runs. Everything taken from the report is escaped by
ElementTree, after dropping characters that XML 1.0 cannot carry at all.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable

from auditor.models import Finding, PassedCheck, Report, ResourceRef, severity_rank

PREFIX = "runbook-auditor"
# Control characters (other than tab and newlines) and surrogates are not allowed in XML
# 1.0 even as character references: ANSI colour codes in a message would break the file.
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# The element each status becomes, most serious first: it decides a mixed testcase.
_ELEMENT = {"fail": "failure", "error": "error", "unknown": "skipped"}


def render(report: Report) -> str:
    root = ET.Element("testsuites", name=PREFIX)
    # Grouped by environment once: a fleet has a thousand environments and 40,000 results.
    findings: dict[str, list[Finding]] = {env: [] for env in report.environments}
    for f in report.findings:
        findings.setdefault(f.environment, []).append(f)
    passed: dict[str, list[PassedCheck]] = {}
    for p in report.passed:
        passed.setdefault(p.environment, []).append(p)
    for env, found in findings.items():
        suite = _suite(root, f"{PREFIX}.{env}", report, env)
        groups = _groups(found)
        for group in groups:
            _testcase(suite, group)
        # A pass whose resource also has a finding (the other side) is already a testcase.
        seen = {group[0].fingerprint for group in groups}
        for p in passed.get(env, ()):
            if p.fingerprint not in seen:
                seen.add(p.fingerprint)
                _element(suite, "testcase", classname=p.policy,
                         name=_ident(p.resource, p.item), time="0")
    _totals(root, root.findall("testsuite"))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, "unicode") + "\n"


def _suite(root: ET.Element, name: str, report: Report, environments: str) -> ET.Element:
    suite = _element(root, "testsuite", name=name,
                     timestamp=report.generated_at.strftime("%Y-%m-%dT%H:%M:%S"))
    props = _element(suite, "properties")
    for key, value in (("service", report.service), ("environment", environments),
                       ("version", report.tool.get("version", ""))):
        _element(props, "property", name=key, value=value)
    return suite


def _groups(findings: list[Finding]) -> list[list[Finding]]:
    """Findings of one testcase: the fingerprint is policy + environment + resource + item,
    so the declared and live sides of one defect share a testcase."""
    groups: dict[str, list[Finding]] = {}
    for f in findings:
        groups.setdefault(f.fingerprint, []).append(f)
    return list(groups.values())


def _testcase(suite: ET.Element, group: list[Finding]) -> None:
    first = group[0]
    case = _element(suite, "testcase", classname=first.policy, name=_name(first), time="0")
    # Failure beats error beats unknown; among equals the most severe finding speaks.
    lead = min(group, key=lambda f: (list(_ELEMENT).index(f.status),
                                     -severity_rank(f.severity)))
    tag = _ELEMENT[lead.status]
    message = " ".join(lead.message.split())  # an attribute: viewers show one line
    if all(f.waived is not None for f in group):  # accepted: not a failure of this run
        assert lead.waived is not None
        outcome = _element(case, "skipped", message=lead.waived.summary())
    elif tag == "skipped":
        outcome = _element(case, tag, message=f"unknown: {message}")
    else:
        outcome = _element(case, tag, message=message, type=lead.severity)
    outcome.text = "\n\n".join(_body(f) for f in group)


def _body(f: Finding) -> str:
    lines = [f"[{f.status}, {f.side}] {f.message}"]
    if f.location is not None:
        lines.append(f"location: {f.location}")
    runbook = f.runbook_url or f.runbook
    if runbook:
        lines.append(f"runbook: {runbook}")
    if f.remediation.text:
        lines.append(f"remediation: {f.remediation.text}")
    lines.extend(f"  $ {command}" for command in f.remediation.commands)
    lines.extend(f"  look: $ {command}" for command in f.remediation.checks)
    return _clean("\n".join(lines))


def _name(f: Finding) -> str:
    return _ident(f.resource, f.item)


def _ident(resource: ResourceRef, item: str | None) -> str:
    return resource.ident + (f"[{item}]" if item else "")


def _totals(root: ET.Element, suites: Iterable[ET.Element]) -> None:
    totals = dict.fromkeys(("tests", "failures", "errors", "skipped"), 0)
    for suite in suites:
        cases = suite.findall("testcase")
        counts = {"tests": len(cases),
                  "failures": sum(1 for c in cases if c.find("failure") is not None),
                  "errors": sum(1 for c in cases if c.find("error") is not None),
                  "skipped": sum(1 for c in cases if c.find("skipped") is not None)}
        for key, n in counts.items():
            suite.set(key, str(n))
            totals[key] += n
        suite.set("time", "0")
    for key, n in totals.items():
        root.set(key, str(n))
    root.set("time", "0")


def _element(parent: ET.Element, tag: str, **attrs: str) -> ET.Element:
    return ET.SubElement(parent, tag, {k: _clean(v) for k, v in attrs.items()})


def _clean(text: str) -> str:
    return _INVALID_XML.sub("\ufffd", text)
