"""The dashboard page: which environment the runbook's commands are filled for,
environments x runbook sections (worst current status per cell, linked to the section;
"pass" only when every check of the section has a result in that environment's current
report, else "not checked"), failing findings by severity, drift listed on its own, and what
could not be placed on a section (unreadable inputs, checks whose anchor no page shows).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from auditor.models import INPUT_ERROR, META_POLICIES, SEVERITIES, Finding, WaiverState
from auditor.site import md
from auditor.site.findings import policy_link
from auditor.site.reports import SiteData, state

PAGE = "dashboard.md"
_WORST = ("fail", "error", "unknown", "waived", "pass")
_LABEL = {"fail": "✗ fail", "error": "⚠ error", "unknown": "? unknown", "waived": "≈ waived",
          "pass": "✓ pass"}


@dataclass(frozen=True)
class Section:
    """A runbook page that checks link to."""

    source: str  # e.g. common-issues/high-latency.md
    page: str  # e.g. common-issues/high-latency (what anchors start with)
    title: str


def render(data: SiteData, sections: list[Section], placed: set[str],
           names_environment: str | None = None) -> str:
    """``names_environment``: the environment whose names fill the runbook's commands
    (None: no config, the commands keep placeholders)."""
    env = md.markdown_env()
    context: dict[str, Any] = {"data": data, "has_report": data.has_report,
                               "names_environment": names_environment}
    if data.has_report:
        context.update(
            environments=data.environments,
            reports=[{"env": e, "at": data.taken_at[e].strftime("%Y-%m-%d %H:%M UTC"),
                      "gate": _gate(data, e)} for e in data.environments],
            rows=_rows(data, sections),
            counts=_counts(data),
            drift=[finding_row(data, f, sections) for f in data.findings if f.side == "drift"],
            inputs=[finding_row(data, f, sections) for f in data.findings
                    if f.policy == INPUT_ERROR],
            unplaced=[finding_row(data, f, sections) for f in data.findings
                      if f.policy not in META_POLICIES and f.runbook not in placed],
            waivers=_waivers(data),
        )
    return env.get_template("dashboard.md.j2").render(context)


def _gate(data: SiteData, env: str) -> str:
    report = data.history_of(env)[-1]
    if report.gate is None:
        return "not gated"
    return f"{report.gate.status} (fail on {report.gate.fail_on})"


def _rows(data: SiteData, sections: list[Section]) -> list[dict[str, Any]]:
    rows = []
    for section in sections:
        prefix = f"{section.page}/#"
        ids = {p.id for p in data.policies.values() if p.runbook.startswith(prefix)}
        here: dict[str, Counter[str]] = {}  # per environment, counted once
        for f in data.findings:
            if f.runbook.startswith(prefix):
                here.setdefault(f.environment, Counter())[state(f)] += 1
        cells = []
        for env in data.environments:
            statuses = Counter(here.get(env, {}))
            unchecked = sum(not data.has_result(i, env) for i in ids)
            if ids and not unchecked:  # "pass" only when every check has a result
                statuses.setdefault("pass", 0)
            worst = next((s for s in _WORST if s in statuses), None)
            label = _LABEL[worst] if worst else "not checked"
            if worst and statuses[worst]:
                label += f" ({statuses[worst]})"
            elif not worst and unchecked < len(ids):
                label += f" ({unchecked} of {len(ids)} checks)"
            cells.append(md.link(label, md.href(PAGE, section.source))
                         if worst or unchecked < len(ids) else md.escape(label))
        rows.append({"section": md.link(section.title, md.href(PAGE, section.source)),
                     "cells": cells})
    return rows


def _counts(data: SiteData) -> list[dict[str, Any]]:
    """Rows: failing per severity (most severe first), errored, undecided, passed;
    one column per environment."""
    def count(env: str, row: str) -> int:
        if row == "passed":
            return data.passed_in(env)
        if row == "waived":
            return sum(f.waived is not None for f in data.findings_in(env))
        mine = [f for f in data.findings_in(env) if not f.waived]
        if row in ("error", "unknown"):
            return sum(f.status == row for f in mine)
        return sum(f.status == "fail" and f.severity == row for f in mine)

    rows = [*(f"{s}" for s in reversed(SEVERITIES)), "error", "unknown", "waived", "passed"]
    labels = {"error": "errored checks", "unknown": "undecided checks",
              "waived": "waived findings", "passed": "passed checks"}
    return [{"label": labels.get(row, f"failing, {row}"),
             "counts": [count(env, row) for env in data.environments]} for row in rows]


def finding_row(data: SiteData, f: Finding, sections: list[Section]) -> dict[str, Any]:
    """One finding as a table row (used by the dashboard and the history page)."""
    page = f.runbook.split("/#", 1)[0]
    section = next((s for s in sections if s.page == page), None) if f.runbook else None
    resource = "/".join(p for p in (f.resource.namespace, f.resource.name) if p)
    return {
        "where": f"{f.environment}, {f.side}" + ("" if f.status == "fail" else f", {f.status}"),
        "check": policy_link(data, PAGE, f.policy, f.title, f.severity),
        "resource": md.code(f"{f.resource.kind} {resource}"
                            + (f" ({f.item})" if f.item else "")),
        "message": md.prose(f.message),
        "section": md.link(section.title, md.href(PAGE, section.source)) if section
        else md.escape(f.runbook or "none"),
    }


def _waivers(data: SiteData) -> list[dict[str, Any]]:
    """The waivers of every environment's current report, each once: what they cover,
    who owns them, until when, and their state over all environments (a nightly audits
    each environment in its own run: active if it covers a finding in any of them)."""
    found: dict[tuple[str, int | None], list[WaiverState]] = {}
    for env in data.environments:
        for w in data.history_of(env)[-1].waivers:
            found.setdefault((w.file, w.line), []).append(w)
    rows = []
    for states in found.values():
        w = states[0]
        kinds = {s.state for s in states}
        matched = sum(s.matched for s in states)
        state = ("✗ expired" if "expired" in kinds else f"active ({matched} covered)"
                 if matched else "✗ matches nothing" if "stale" in kinds
                 else "active (nothing covered in the current reports)")
        rows.append({
            "state": state, "check": md.code(w.policy),
            "resource": md.code(w.resource + (f" [{w.item}]" if w.item else "")),
            "environments": md.escape(", ".join(w.environments)),
            "owner": md.escape(w.owner), "expires": w.expires.isoformat() if w.expires else "—",
            "reason": md.prose(w.reason),
            "where": md.code(f"{w.file}:{w.line}" if w.line else w.file)})
    return rows
