"""GitHub Actions workflow commands: one ``::error``/``::warning``/``::notice`` line per
finding, which GitHub shows as an annotation on the file and line (in a pull request's
diff when the line is part of it), then a one-line summary.

Only what the gate counts is annotated: with a baseline, the new findings; never the
waived ones. Every value is escaped as the runner's parser expects, so untrusted text
(resource names, messages) cannot end the line and start a command of its own.
"""

from __future__ import annotations

from auditor.formats.sarif_format import rooted
from auditor.models import Finding, Report, severity_rank
from auditor.report import gating
from auditor.terminal import visible

_LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "notice"}


def render(report: Report) -> str:
    shown = sorted(gating(report), key=lambda f: -severity_rank(f.severity))
    lines = [_command(rooted(f, report.source_root)) for f in shown]
    lines.append(_summary(report, len(shown)))
    return "\n".join(lines) + "\n"


def _command(f: Finding) -> str:
    level = "error" if f.status == "error" else \
        "notice" if f.status == "unknown" else _LEVEL[f.severity]
    props = {}
    if f.location is not None:
        props["file"] = f.location.file
        if f.location.line:
            props["line"] = str(f.location.line)
    status = "" if f.status == "fail" else f" ({f.status})"
    props["title"] = f"{f.policy}{status}: {f.title} [{f.environment}]"
    where = f" ({f.location.key})" if f.location and f.location.key else ""
    message = f"{f.resource.ident}{f' [{f.item}]' if f.item else ''}{where}: {f.message}"
    if f.runbook_url:
        message += f"\nRunbook: {f.runbook_url}"
    if f.remediation.commands:
        message += "\nFix: " + "\n".join(f.remediation.commands)
    joined = ",".join(f"{k}={_prop(v)}" for k, v in props.items())
    return f"::{level} {joined}::{_data(message)}"


def _summary(report: Report, shown: int) -> str:
    gate = report.gate
    verdict = f"gate {gate.status} (fail on {gate.fail_on})" if gate else "not gated"
    parts = [f"{shown} finding(s) annotated"]
    if report.comparison is not None:
        c = report.comparison
        parts.append(f"{c.new} new, {c.fixed} fixed, {c.existing} pre-existing "
                     f"(base {c.base})")
    if report.summary.waived:
        parts.append(f"{report.summary.waived} waived")
    # A log line, not a command: shown as written (50% stays 50%), one line whatever the
    # base's name holds, and it starts with our text so it cannot read as a command.
    return visible(f"runbook-auditor: {verdict}; " + "; ".join(parts))


def _data(text: str) -> str:
    # The runner reads %0A as a line break of the annotation; every other control character
    # (ESC would recolour or rewrite the job log) is shown as an escape.
    escaped = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return visible(escaped)


def _prop(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")
