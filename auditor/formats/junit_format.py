"""JUnit XML for CI test-report widgets: one ``<testsuite>`` per environment, one
``<testcase>`` per policy and resource (item included): a failure, an error, a skipped
test (unknown, or waived) or a pass. Test names are stable (policy and resource), so CI history
follows each check across runs. Everything taken from the report is escaped by
ElementTree, after dropping characters that XML 1.0 cannot carry at all.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator

from auditor.models import Finding, PassedCheck, Report, ResourceRef, severity_rank

PREFIX = "runbook-auditor"
# Control characters (other than tab and newlines) and surrogates are not allowed in XML
# 1.0 even as character references: ANSI colour codes in a message would break the file.
_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# The element each status becomes, most serious first: it decides a mixed testcase.
_ELEMENT = {"fail": "failure", "error": "error", "unknown": "skipped"}


def render(report: Report) -> str:
    return b"".join(chunks(report)).decode("utf-8")


def chunks(report: Report) -> Iterator[bytes]:
    """The document a suite at a time: a fleet's thousand suites (40,000 testcases) are
    never one tree. The totals on the root come first, so they are counted beforehand."""
    # Grouped by environment once: a fleet has a thousand environments and 40,000 results.
    findings: dict[str, list[Finding]] = {env: [] for env in report.environments}
    for f in report.findings:
        findings.setdefault(f.environment, []).append(f)
    passed: dict[str, list[PassedCheck]] = {}
    for p in report.passed:
        passed.setdefault(p.environment, []).append(p)
    suites = [(env, _cases(found, passed.get(env, ()))) for env, found in findings.items()]
    counted = [_counts(cases) for _, cases in suites]
    root = ET.Element("testsuites", name=PREFIX)
    _stamp(root, {key: sum(c[key] for c in counted) for key in _COUNTS})
    yield b'<?xml version="1.0" encoding="UTF-8"?>\n'
    if not suites:
        yield ET.tostring(root, "unicode").encode("utf-8") + b"\n"
        return
    root.text = "\n  "  # what ET.indent gives it: the start tag is all before it
    head = ET.tostring(root, "unicode")
    yield head[: head.index(">\n  ") + 4].encode("utf-8")
    for i, ((env, cases), counts) in enumerate(zip(suites, counted, strict=True)):
        suite = _suite(f"{PREFIX}.{env}", report, env)
        for case in cases:
            if isinstance(case, list):
                _testcase(suite, case)
            else:
                _element(suite, "testcase", classname=case.policy,
                         name=_ident(case.resource, case.item), time="0")
        _stamp(suite, counts)
        ET.indent(suite, level=1)
        suite.tail = "\n" if i == len(suites) - 1 else "\n  "
        yield ET.tostring(suite, "unicode").encode("utf-8")
    yield b"</testsuites>\n"


_COUNTS = ("tests", "failures", "errors", "skipped")


def _cases(found: list[Finding], passed: Iterable[PassedCheck]
           ) -> list[list[Finding] | PassedCheck]:
    """A suite's testcases: each group of findings, then each pass of a resource without
    one (a pass whose resource also has a finding, on the other side, is that testcase)."""
    groups = _groups(found)
    seen = {group[0].fingerprint for group in groups}
    cases: list[list[Finding] | PassedCheck] = [*groups]
    for p in passed:
        if p.fingerprint not in seen:
            seen.add(p.fingerprint)
            cases.append(p)
    return cases


def _counts(cases: list[list[Finding] | PassedCheck]) -> dict[str, int]:
    counts = dict.fromkeys(_COUNTS, 0)
    counts["tests"] = len(cases)
    for case in cases:
        if isinstance(case, list):
            counts[{"failure": "failures", "error": "errors", "skipped": "skipped"}[
                _outcome(case)[0]]] += 1
    return counts


def _stamp(element: ET.Element, counts: dict[str, int]) -> None:
    for key, n in counts.items():
        element.set(key, str(n))
    element.set("time", "0")


def _suite(name: str, report: Report, environments: str) -> ET.Element:
    suite = ET.Element("testsuite", {k: _clean(v) for k, v in (
        ("name", name), ("timestamp", report.generated_at.strftime("%Y-%m-%dT%H:%M:%S")))})
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


def _outcome(group: list[Finding]) -> tuple[str, Finding, bool]:
    """The element a testcase's outcome is, and the finding that speaks for it: failure
    beats error beats unknown; among equals the most severe finding. A group all waived is
    accepted (the third value): skipped, not a failure of this run."""
    lead = min(group, key=lambda f: (list(_ELEMENT).index(f.status),
                                     -severity_rank(f.severity)))
    if all(f.waived is not None for f in group):
        return "skipped", lead, True
    return _ELEMENT[lead.status], lead, False


def _testcase(suite: ET.Element, group: list[Finding]) -> None:
    first = group[0]
    case = _element(suite, "testcase", classname=first.policy, name=_name(first), time="0")
    tag, lead, accepted = _outcome(group)
    message = " ".join(lead.message.split())  # an attribute: viewers show one line
    if accepted and lead.waived is not None:
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


def _element(parent: ET.Element, tag: str, **attrs: str) -> ET.Element:
    return ET.SubElement(parent, tag, {k: _clean(v) for k, v in attrs.items()})


def _clean(text: str) -> str:
    return _INVALID_XML.sub("\ufffd", text)
