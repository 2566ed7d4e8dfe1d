"""A report against a base: which findings are new, which the base had, which are fixed.

A finding is the same finding when its fingerprint (policy, environment, resource, item:
never the file or line, so moved and reformatted lines stay the same), its side and its
status agree: an ``unknown`` that became a ``fail`` is a new failure.

"Fixed" is claimed only where this run could have seen the finding: on the sides and
environments it checked, where its inputs were readable, and when the same resource does
not still have the finding with another status (a ``fail`` that became ``unknown`` is
not fixed, it is no longer decided). An environment the base does not cover, or whose
inputs the base could not read, is said in the note: its findings count as new.
"""

from __future__ import annotations

from collections.abc import Sequence

from auditor.errors import InputError
from auditor.models import META_POLICIES, Comparison, Finding, Report, Summary

Key = tuple[str, str, str]  # fingerprint, side, status


def key(f: Finding) -> Key:
    return (f.fingerprint, f.side, f.status)


def merge(reports: Sequence[Report], service: str) -> Report:
    """Saved reports (e.g. one per environment of a nightly run, or a fleet's directory) as
    one base: the service's reports only, and for each environment and side the newest
    report that checked it."""
    mine = sorted((r for r in reports if r.service == service), key=lambda r: r.generated_at)
    if not mine:
        services = ", ".join(sorted({r.service for r in reports}))
        raise InputError(f"no baseline report is of service {service!r} (found: {services})")
    newest: dict[tuple[str, str], Report] = {}
    for r in mine:
        for env in r.environments:
            for side in r.sides or sorted({f.side for f in r.findings}):
                newest[(env, side)] = r
    findings = [f for (env, side), r in newest.items() for f in r.findings
                if f.environment == env and f.side == side]
    return Report(generated_at=mine[-1].generated_at, tool=mine[-1].tool, service=service,
                  environments=sorted({env for env, _ in newest}),
                  summary=Summary(by_status={}, by_severity={}, passes={}),
                  findings=findings,
                  sides=sorted({side for _, side in newest}))  # type: ignore[misc]


def compare(report: Report, base: Report, label: str, note: str = "",
            check_service: bool = True) -> None:
    """Mark each finding of ``report`` new or existing and record the comparison."""
    notes = [note] if note else []
    if base.service != report.service and base.findings:
        if check_service:
            raise InputError(f"{label}: the baseline is a report of service "
                             f"{base.service!r}, not {report.service!r}")
        notes.append(f"the base's service was {base.service!r}")
    sides = set(report.sides) or {f.side for f in report.findings}
    environments = set(report.environments)
    missing = sorted(environments - set(base.environments))
    if missing and base.environments:
        notes.append(f"the base does not cover {', '.join(missing)}: its findings count as new")
    base_blind = base.unreadable()
    blind_envs = sorted({env for env, side in base_blind if env in environments})
    if blind_envs:
        notes.append(f"some inputs of {', '.join(blind_envs)} could not be read at the base: "
                     "findings it could not see count as new")
    # Findings of policies this run left out (--policy, --skip-policy) are not "fixed".
    evaluated = {p.id for p in report.policies}
    comparable = [f for f in base.findings if f.side in sides and f.environment in environments
                  and (not evaluated or f.policy in evaluated or f.policy in META_POLICIES)]
    before = {key(f) for f in comparable}
    for f in report.findings:
        f.baseline = "existing" if key(f) in before else "new"
    head_blind = report.unreadable()
    still_there = {(f.fingerprint, f.side) for f in report.findings}
    fixed = [f for f in comparable
             if (f.fingerprint, f.side) not in still_there
             and (f.environment, f.side) not in head_blind]
    report.comparison = Comparison(
        base=label,
        new=sum(f.baseline == "new" for f in report.findings),
        existing=sum(f.baseline == "existing" for f in report.findings),
        fixed=len(fixed), fixed_findings=fixed, note="; ".join(notes),
    )
