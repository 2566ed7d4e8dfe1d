"""A report against a base: which findings are new, which the base had, which are fixed.

A finding is the same finding when its fingerprint (policy, environment, resource, item:
never the file or line, so moved and reformatted lines stay the same), its side and its
status agree: an ``unknown`` that became a ``fail`` is a new failure. "Fixed" counts only
base findings of the sides and environments this report checked, so a nightly audit's live
findings are not "fixed" by a declared-only scan.
"""

from __future__ import annotations

from auditor.errors import InputError
from auditor.models import Comparison, Finding, Report

Key = tuple[str, str, str]  # fingerprint, side, status


def key(f: Finding) -> Key:
    return (f.fingerprint, f.side, f.status)


def compare(report: Report, base: Report, label: str, note: str = "") -> None:
    """Mark each finding of ``report`` new or existing and record the comparison."""
    if base.service != report.service and base.findings:
        raise InputError(f"{label}: the baseline is a report of service {base.service!r}, "
                         f"not {report.service!r}")
    sides = set(report.sides) or {f.side for f in report.findings}
    environments = set(report.environments)
    comparable = [f for f in base.findings
                  if f.side in sides and f.environment in environments]
    before = {key(f) for f in comparable}
    for f in report.findings:
        f.baseline = "existing" if key(f) in before else "new"
    now = {key(f) for f in report.findings}
    fixed = [f for f in comparable if key(f) not in now]
    report.comparison = Comparison(
        base=label,
        new=sum(f.baseline == "new" for f in report.findings),
        existing=sum(f.baseline == "existing" for f in report.findings),
        fixed=len(fixed), fixed_findings=fixed, note=note,
    )
