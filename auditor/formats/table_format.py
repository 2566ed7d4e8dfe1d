"""A terminal table: one row per finding, grouped by environment, with a summary line.

Plain text (no colour codes when not on a terminal is the CLI's business): columns are
padded to fit, long messages wrap under their row.
"""

from __future__ import annotations

import textwrap

from auditor.models import Finding, Report
from auditor.terminal import visible

_WIDTH = 110


def render(report: Report) -> str:
    lines = [visible(f"runbook-auditor: {report.service} "
                     f"({', '.join(report.environments) or 'no environment'})"), ""]
    if not report.findings:
        lines.append("No findings: every applicable check passed.")
    for env in sorted({f.environment for f in report.findings}):
        rows = [f for f in report.findings if f.environment == env]
        lines.append(f"== {visible(env)} ==")
        lines.extend(_rows(rows))
        lines.append("")
    s = report.summary
    lines.append("Summary: " + ", ".join(f"{n} {k}" for k, n in s.by_status.items())
                 + " | failing by severity: "
                 + ", ".join(f"{n} {k}" for k, n in reversed(s.by_severity.items()))
                 + (f" | {s.waived} waived" if s.waived else ""))
    if report.not_applicable:
        lines.append("Not applicable until the service states a fact (facts in auditor.yaml):")
        for n in report.not_applicable:
            lines.extend(textwrap.wrap(visible(f"{n.policy} ({n.environment}): {n.reason}"),
                                       _WIDTH, initial_indent="  ", subsequent_indent="    "))
    if report.comparison is not None:
        c = report.comparison
        lines.append(visible(f"Compared with {c.base}: {c.new} new, {c.fixed} fixed, "
                             f"{c.existing} pre-existing (only new findings gate)"
                             + (f"; {c.note}" if c.note else "")))
    if report.gate is not None:
        lines.append(f"Gate: {report.gate.status} (fail on {report.gate.fail_on}, "
                     f"exit {report.gate.exit_code})")
    return "\n".join(lines).rstrip() + "\n"


def _rows(findings: list[Finding]) -> list[str]:
    header = ("STATUS", "SEVERITY", "SIDE", "POLICY", "RESOURCE", "LOCATION")
    table = [header] + [tuple(map(visible, (_status(f), f.severity, f.side, f.policy,
                                            _resource(f), _where(f)))) for f in findings]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    out = []
    for i, row in enumerate(table):
        out.append("  ".join(cell.ljust(widths[j]) for j, cell in enumerate(row)).rstrip())
        if i == 0:
            continue
        finding = findings[i - 1]
        out.extend(textwrap.wrap(visible(finding.message), _WIDTH, initial_indent="    ",
                                 subsequent_indent="    "))
        if finding.waived is not None:
            out.append(f"    {visible(finding.waived.summary())}")
        for command in finding.remediation.commands[:1]:  # the first is the runbook's fix
            out.append(f"    fix: {visible(' '.join(command.split()))}")
        if finding.runbook:
            out.append(f"    runbook: {visible(finding.runbook_url or finding.runbook)}")
    return out


def _status(f: Finding) -> str:
    marks = [m for m in ("waived" if f.waived else "",
                         "new" if f.baseline == "new" else "") if m]
    return f.status.upper() + (f" ({', '.join(marks)})" if marks else "")


def _resource(f: Finding) -> str:
    return f.resource.ident + (f" [{f.item}]" if f.item else "")


def _where(f: Finding) -> str:
    return f.location.described() if f.location is not None else "-"
