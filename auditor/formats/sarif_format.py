"""SARIF 2.1.0 for GitHub code scanning and other SARIF viewers: one run whose rules are the
evaluated policies (severity mapped to a SARIF level and to GitHub's ``security-severity``)
and whose results are the failing and unknown findings. Findings whose check errored, and
inputs that could not be read, are not results about the code: they become tool execution
notifications, and any of them marks the invocation as unsuccessful.
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, urlsplit

from auditor.config import DEFAULT_NAME as DEFAULT_CONFIG
from auditor.models import INPUT_ERROR, Finding, FindingLocation, PolicyInfo, Report

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
DEFAULT_SITE_URL = "http://127.0.0.1:8000/"
FINGERPRINT_KEY = "runbookAuditor/v1"
SRCROOT = "%SRCROOT%"

_LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "note"}
# GitHub reads a CVSS-like 0-10 score; these land in its critical/high/medium/low bands.
_SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0"}


def render(report: Report) -> str:
    return b"".join(chunks(report)).decode("utf-8")


def chunks(report: Report) -> Iterator[bytes]:
    """The log as ``json.dumps(..., indent=2, ensure_ascii=False)`` writes it, in pieces of
    about 64 KiB: ``dumps`` with an indent keeps every token of a fleet's log in one list
    before joining them (hundreds of MB)."""
    pending: list[str] = []
    size = 0
    encoder = json.JSONEncoder(indent=2, ensure_ascii=False)
    for token in encoder.iterencode(sarif(report)):
        pending.append(token)
        size += len(token)
        if size >= _PIECE:
            yield "".join(pending).encode("utf-8")
            pending, size = [], 0
    pending.append("\n")
    yield "".join(pending).encode("utf-8")


_PIECE = 1 << 16


def sarif(report: Report) -> dict[str, Any]:
    """The SARIF log as plain data (what :func:`render` serialises)."""
    site = site_url(report)
    policies = _policies(report)
    index = {p.id: i for i, p in enumerate(policies)}
    links = runbook_links(report)
    rules = [_rule(p, links.get(p.id, site + p.runbook)) for p in policies]
    findings = [rooted(f, report.source_root) for f in report.findings]
    # A live finding has no file; its declared twin (same fingerprint) says where to fix it.
    # Without a twin it points to the config file that names the environment: code scanning
    # refuses the whole upload over one result without a file.
    located = {f.fingerprint: f.location for f in reversed(findings) if f.location}
    anchor = FindingLocation(file=_joined(report.source_root,
                                          report.config_file or DEFAULT_CONFIG))
    results = [_result(f, index[f.policy], located.get(f.fingerprint, anchor))
               for f in findings if f.status != "error" and f.policy in index]
    notifications = [_notification(f, index.get(f.policy)) for f in findings
                     if f.status == "error" or f.policy not in index]
    run: dict[str, Any] = {
        "tool": {"driver": {
            "name": "runbook-auditor",
            "version": report.tool.get("version", "unknown"),
            # No project homepage is recorded anywhere; the runbook site documents the rules.
            "informationUri": site,
            "rules": rules,
        }},
        "invocations": [{
            "executionSuccessful": not notifications,
            "endTimeUtc": report.generated_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "toolExecutionNotifications": notifications,
        }],
        "originalUriBaseIds": {SRCROOT: {"description": {
            "text": "The root of the repository that holds the auditor configuration "
                    "(the config file's directory outside a git work tree)."}}},
        "results": results,
        "properties": {"service": report.service, "environments": report.environments},
    }
    return {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}


def rooted(f: Finding, root: str) -> Finding:
    """Code scanning resolves paths from the repository root; reports keep them relative
    to the config file's directory, which ``source_root`` locates in the repository."""
    if not root or f.location is None:
        return f
    related = [r.model_copy(update={"file": _joined(root, r.file)}) for r in f.location.related]
    moved = f.location.model_copy(update={"file": _joined(root, f.location.file),
                                          "related": related})
    update: dict[str, Any] = {"location": moved}
    if (s := f.remediation.suggestion) is not None:
        update["remediation"] = f.remediation.model_copy(update={
            "suggestion": s.model_copy(update={"file": _joined(root, s.file)})})
    return f.model_copy(update=update)


def _joined(root: str, file: str) -> str:
    # An absolute file stays as it is; "a/../b" -> "b".
    return posixpath.normpath(posixpath.join(root, file))


def site_url(report: Report) -> str:
    """The runbook site's base URL: a finding's absolute runbook URL minus its site path."""
    for f in report.findings:
        if f.runbook and f.runbook_url and f.runbook_url.endswith(f.runbook) \
                and _is_web(f.runbook_url):
            return f.runbook_url[: -len(f.runbook)]
    return DEFAULT_SITE_URL


def runbook_links(report: Report) -> dict[str, str]:
    """Policy id -> runbook URL: as its first finding links it, else built on the site URL
    (PolicyInfo has no URL of its own). Input errors have no runbook, hence no entry."""
    site = site_url(report)
    links: dict[str, str] = {}
    for f in report.findings:
        if f.runbook_url and _is_web(f.runbook_url):
            links.setdefault(f.policy, f.runbook_url)
    for p in report.policies:
        links.setdefault(p.id, site + p.runbook)
    for f in report.findings:
        if f.runbook:
            links.setdefault(f.policy, site + f.runbook)
    return links


def _policies(report: Report) -> list[PolicyInfo]:
    """The report's policies, plus one made up from any finding of a policy missing from
    them (every result needs a rule to point at; input errors have none, by design)."""
    policies = list(report.policies)
    known = {p.id for p in policies}
    for f in report.findings:
        if f.policy not in known and f.policy != INPUT_ERROR:
            known.add(f.policy)
            policies.append(PolicyInfo(id=f.policy, title=f.title, severity=f.severity,
                                       runbook=f.runbook, runbook_section=f.title,
                                       description=f.title))
    return policies


def _rule(policy: PolicyInfo, url: str) -> dict[str, Any]:
    section = policy.runbook_section
    return {
        "id": policy.id,
        "name": camel_case(policy.id),
        "shortDescription": {"text": policy.title},
        "fullDescription": {"text": policy.description or policy.title},
        "helpUri": url,
        "help": {
            "text": "\n\n".join(filter(None, [policy.description,
                                                f"Runbook: {section} ({url})"])),
            "markdown": "\n\n".join(filter(None, [
                _md(policy.description), f"**Runbook:** [{_md(section)}]({_md_url(url)})"])),
        },
        "defaultConfiguration": {"level": _LEVEL[policy.severity]},
        "properties": {
            # GitHub only shows security-severity for rules tagged "security".
            "tags": ["runbook-auditor", "security", policy.severity],
            "security-severity": _SECURITY_SEVERITY[policy.severity],
            "precision": "high",
        },
    }


def _result(f: Finding, rule_index: int, twin: FindingLocation | None) -> dict[str, Any]:
    text = f.message if f.status == "fail" else f"unknown: {f.message}"
    if f.remediation.text:
        text += " Remediation: " + f.remediation.text
    result: dict[str, Any] = {
        "ruleId": f.policy,
        "ruleIndex": rule_index,
        "level": _LEVEL[f.severity] if f.status == "fail" else "note",
        "message": {"text": text},
        "locations": [_location(f, twin)],
        **({"relatedLocations": [
            {"id": i, "physicalLocation": _physical(x.file, x.line),
             "message": {"text": "the module uses the value here"}}
            for i, x in enumerate(f.location.related, 1)]}
           if f.location is not None and f.location.related else {}),
        "partialFingerprints": {FINGERPRINT_KEY: f.fingerprint},
        "properties": {"environment": f.environment, "side": f.side,
                       "resource": _ident(f), "status": f.status},
    }
    if (s := f.remediation.suggestion) is not None:  # what `auditor fix` would write
        result["fixes"] = [{
            "description": {"text": f"auditor fix: {s.file}:{s.line}"},
            "artifactChanges": [{
                "artifactLocation": _physical(s.file, None)["artifactLocation"],
                # Whole lines (no columns: to the end of the line, its break kept).
                "replacements": [{"deletedRegion": {"startLine": s.line, "endLine": s.line},
                                  "insertedContent": {"text": s.text}}]}]}]
    if f.baseline is not None:  # SARIF's own words for a comparison with a base
        result["baselineState"] = "new" if f.baseline == "new" else "unchanged"
    if f.waived is not None:  # a waiver: external; a comment beside the code: in source
        w = f.waived
        inline = w.inline
        until = f", until {w.expires.isoformat()}" if w.expires else ""
        result["suppressions"] = [{
            "kind": "inSource" if inline else "external", "status": "accepted",
            "justification": f"{w.reason} ({'inline' if inline else 'owner ' + w.owner}"
                             f"{until}; {w.file}:{w.line})"}]
    return result


def _location(f: Finding, twin: FindingLocation | None) -> dict[str, Any]:
    location: dict[str, Any] = {}
    where = f.location or twin
    if where is not None:
        location["physicalLocation"] = _physical(where.file, where.line)
    if f.location is None:
        location["logicalLocations"] = [{
            "name": f"{f.resource.kind}/{f.resource.name}",
            "fullyQualifiedName": f"{f.environment}/{_ident(f)}",
            "kind": "resource",
        }]
    return location


def _notification(f: Finding, rule_index: int | None) -> dict[str, Any]:
    note: dict[str, Any] = {
        "level": "error",
        "message": {"text": f"{f.environment}: {f.message}"},
        "properties": {"environment": f.environment, "side": f.side,
                       "resource": _ident(f), "policy": f.policy},
    }
    if f.location is not None:
        note["locations"] = [{"physicalLocation": _physical(f.location.file,
                                                            f.location.line)}]
    if rule_index is not None:
        note["associatedRule"] = {"id": f.policy, "index": rule_index}
    return note


def _physical(file: str, line: int | None) -> dict[str, Any]:
    physical: dict[str, Any] = {"artifactLocation": {"uri": quote(file.replace("\\", "/")),
                                                     "uriBaseId": SRCROOT}}
    if line is not None and line >= 1:  # SARIF lines are 1-based; 0 means "not known"
        physical["region"] = {"startLine": line}
    return physical


def _is_web(url: str) -> bool:
    # Links end up clickable in GitHub and PR comments: never javascript: or relative ones.
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _ident(f: Finding) -> str:
    return f.resource.ident + (f"[{f.item}]" if f.item else "")


def camel_case(policy_id: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]+", policy_id))


def _md(text: str) -> str:
    """Policy text is plain: keep it from turning into markup in the help pane."""
    return re.sub(r"([\\`*_{}\[\]<>()#|!])", r"\\\1", text)


def _md_url(url: str) -> str:
    return quote(url, safe=":/?#[]@!$&'*+,;=%~")
