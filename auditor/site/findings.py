"""``{{ findings("anchor-id") }}`` on a runbook page: the current findings of the checks
that link to that heading, as mkdocs-material admonitions.

Failing critical/high checks are ``danger``/``failure``, medium/low ``warning``; a check
that could not decide is a ``question`` and one that errored a ``bug`` (shown, never
hidden). Each says where, since when, what to change and the filled commands. Where
checks map to the heading and none fails, a quiet ``success`` note lists them when every
one has a result in every environment's current report; otherwise an ``info`` note says
which were not checked in this report (e.g. live checks in a scan report). Nothing is
rendered without a report, or where no check maps.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from auditor.models import Finding, PolicyInfo, Provenance
from auditor.shell import q
from auditor.site import md
from auditor.site.reports import Since, SiteData, key, state

_KIND = {"critical": "danger", "high": "failure", "medium": "warning", "low": "warning"}
_STATUS = {"fail": "Failing", "error": "Check errored", "unknown": "Undecided"}
_SINCE = {"fail": "Failing since", "error": "Erroring since", "unknown": "Undecided since"}


def page_id(source: str) -> str:
    """``common-issues/high-latency.md`` -> ``common-issues/high-latency`` (the path that
    policies' anchors start with); ``x/index.md`` -> ``x``."""
    stem = source.removesuffix(".md")
    return "" if stem == "index" else stem.removesuffix("/index")


def reference_page(policy_id: str) -> str:
    return f"policies/{policy_id}.md"


def render(data: SiteData, source: str, anchor_id: str) -> md.Md:
    """The Markdown for heading ``anchor_id`` of the page whose source is ``source``."""
    anchor = f"{page_id(source)}/#{anchor_id}"
    checks = [p for p in data.policies.values() if p.runbook == anchor]
    shown = [f for f in data.findings if f.runbook == anchor]
    if not data.has_report or not (checks or shown):
        return md.Md("")
    env = md.markdown_env()
    body = env.get_template("finding-body.md.j2")
    # A fleet's section may have thousands: the most serious in full (the site's order),
    # the rest counted per environment.
    if len(shown) > MAX_SHOWN:  # what a waiver covers is not among the most serious
        shown.sort(key=lambda f: f.waived is not None)  # stable: the site's order
    full, rest = shown[:MAX_SHOWN], shown[MAX_SHOWN:]
    context: dict[str, Any] = {
        "findings": [_admonition(data, source, f, body.render(f=_fields(data, source, f)))
                     for f in full],
        "more": _more(rest),
        "checks": [_check(data, source, p) for p in checks],
        # "all pass" only when every check has a result in every environment's report
        "all_pass": all(data.has_result(p.id, e) for p in checks for e in data.environments),
        "triage": md.fenced(triage_command(data, anchor), "bash") if checks else "",
    }
    return md.Md(env.get_template("findings.md.j2").render(context))


def _more(rest: list[Finding]) -> dict[str, Any] | None:
    """The findings past the first MAX_SHOWN: how many, and per environment how many of
    each status (most first)."""
    if not rest:
        return None
    per: dict[str, Counter[str]] = {}
    for f in rest:
        per.setdefault(f.environment, Counter())[state(f)] += 1
    rows = sorted(per.items(), key=lambda kv: (-sum(kv[1].values()), kv[0]))
    return {"title": f"{_count(len(rest), 'more finding')} in "
                      f"{_count(len(per), 'environment')}", "rows": [
        {"environment": md.escape(env), **{s: counts[s] for s in _COLUMNS}}
        for env, counts in rows]}


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


_COLUMNS = ("fail", "error", "unknown", "waived")
MAX_SHOWN = 50  # findings shown in full under one heading


def triage_command(data: SiteData, anchor: str) -> str:
    """``auditor audit --section``, for this section and the reports' config file."""
    latest = data.reports[-1] if data.reports else None
    config = "/".join(p for p in (latest.source_root, latest.config_file) if p) \
        if latest is not None else ""
    return " ".join(["auditor audit", *(["--config", q(config)] if config else []),
                     "--section", q(anchor)])


def admonition_kind(finding: Finding) -> str:
    if finding.status == "error":
        return "bug"
    if finding.status == "unknown":
        return "question"
    return _KIND[finding.severity]


def _admonition(data: SiteData, source: str, f: Finding, body: str) -> dict[str, Any]:
    if f.waived is not None:  # accepted: shown, quietly, with who accepted it until when
        until = f" until {f.waived.expires.isoformat()}" if f.waived.expires else ""
        title = f"Waived{until} ({f.severity}, {f.environment}): {f.title}"
        return {"kind": "abstract", "title": title, "body": body}
    title = f"{_STATUS[f.status]} ({f.severity}, {f.environment}): {f.title}"
    return {"kind": admonition_kind(f), "title": title, "body": body}


def _fields(data: SiteData, source: str, f: Finding) -> dict[str, Any]:
    resource = f.resource
    ident = "/".join(p for p in (resource.namespace, resource.name) if p)
    loc = f.location
    return {
        "status_label": _STATUS[f.status], "environment": f.environment, "side": f.side,
        "resource": f"{resource.kind} {ident}", "item": f.item, "message": f.message,
        "check": policy_link(data, source, f.policy, f.title, f.severity),
        "since_label": _SINCE[f.status], "since": since_text(data.since.get(key(f))),
        "location": str(loc) if loc else "",
        "fix": f.remediation.text, "commands": f.remediation.commands,
        "checks": f.remediation.checks,
        "waived": f.waived,
        "changed": f.provenance.summary() if f.provenance else "",
        "changed_section": _section_title(f.provenance),
    }


def _section_title(provenance: Provenance | None) -> str:
    """The runbook section whose command the change looks like, by title: as text, since
    a report is an input and its section reference is not checked against the runbook
    (a link could point anywhere, and a broken one fails the strict build)."""
    if provenance is None or not provenance.runbook or not provenance.runbook_title:
        return ""
    return provenance.runbook_title


def policy_link(data: SiteData, source: str, policy_id: str, title: str,
                severity: str) -> md.Md:
    """``[title](reference page)`` (``id``, severity); plain text for an unknown check."""
    label = md.link(title, md.href(source, reference_page(policy_id))) \
        if policy_id in data.policies else md.escape(title)
    return md.Md(f"{label} ({md.code(policy_id)}, {md.escape(severity)})")


def since_text(since: Since | None) -> str:
    if since is None:
        return ""
    when = since.at.strftime("%Y-%m-%d %H:%M UTC")
    runs = "1 report" if since.reports == 1 else f"{since.reports} consecutive reports"
    return f"{'at least ' if since.from_first else ''}{when} ({runs})"


def _check(data: SiteData, source: str, policy: PolicyInfo) -> dict[str, Any]:
    passed = Counter(p.environment for p in data.passed if p.policy == policy.id)
    notes = [f"{n} passed in {env}" for env, n in sorted(passed.items())]
    unchecked = [e for e in data.environments if not data.has_result(policy.id, e)]
    if unchecked and len(data.environments) == 1:
        notes.append("not checked in this report")
    elif unchecked:
        notes.append(f"not checked in this report in {', '.join(unchecked)}")
    note = ", ".join(notes)
    return {"link": policy_link(data, source, policy.id, policy.title, policy.severity),
            "note": note}
