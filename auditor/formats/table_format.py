"""A terminal table: one row per defect, grouped by environment, with a summary line.

The same defect seen on several sides (a values line and the live object it became: one
fingerprint) is one row whose SIDE says where (``declared+live``). On a terminal
(:class:`Style` from the CLI) it is coloured by status and severity (unless ``NO_COLOR`` or
``--no-color``) and fits the terminal's width: a row too wide moves its location under it.
In a CI log (no terminal) columns are padded to the widest cell and messages wrap at 110.
``quiet``: one line per failing finding; ``verbose``: the passed checks too.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import click

from auditor.models import Finding, LiveState, PassedCheck, Report, ResourceRef
from auditor.terminal import visible

_WIDTH = 110
_STATUS_COLOUR = {"FAIL": "red", "ERROR": "magenta", "UNKNOWN": "yellow", "PASS": "green"}
_SEVERITY_STYLE = {"critical": {"fg": "red", "bold": True}, "high": {"fg": "red"},
                   "medium": {"fg": "yellow"}, "low": {"dim": True}}


@dataclass(frozen=True)
class Style:
    width: int | None = None  # a terminal's columns; None: a log, rows as wide as they are
    colour: bool = False
    detail: Literal["quiet", "normal", "verbose"] = "normal"


@dataclass
class _Row:
    """One defect: its findings on each side that shows it (same fingerprint and status)."""

    findings: list[Finding]

    @property
    def lead(self) -> Finding:
        return self.findings[0]

    @property
    def sides(self) -> str:
        return "+".join(dict.fromkeys(f.side for f in self.findings))


def render(report: Report, style: Style = Style()) -> str:
    width = style.width or _WIDTH
    head = [visible(f"runbook-auditor: {report.service} "
                    f"({', '.join(report.environments) or 'no environment'})")]
    if report.selection is not None:
        head.append(visible(selection_line(report)))
    # A check that could not run because a live source could not be read says why in its
    # message; the cause is said once above instead (--verbose: every one of them too).
    unread = {id(f) for f in _unread(report)} if style.detail != "verbose" else set()
    by_env: dict[str, list[Finding]] = {}
    for f in report.findings:
        if id(f) not in unread:
            by_env.setdefault(f.environment, []).append(f)
    lines = head + _live(report.live, width, len(unread))
    if style.detail == "quiet":
        lines += _quiet(by_env, style)
    else:
        lines.append("")
        if not report.findings:
            lines.append("No findings: every applicable check passed.")
        passed: dict[str, list[PassedCheck]] = {}
        if style.detail == "verbose":
            for p in report.passed:
                passed.setdefault(p.environment, []).append(p)
        for env in sorted(by_env.keys() | passed.keys()):
            lines.append(f"== {visible(env)} ==")
            lines.extend(_rows(_defects(by_env.get(env, [])), style))
            lines.extend(_passes(passed.get(env, []), style))
            lines.append("")
    lines += _tail(report, width, style)
    return "\n".join(lines).rstrip() + "\n"


def _tail(report: Report, width: int, style: Style) -> list[str]:
    lines = []
    s = report.summary
    # A report read from a file (`auditor report`) may hold any key: escaped like the rest.
    lines.append(visible("Summary: " + ", ".join(f"{n} {k}" for k, n in s.by_status.items())
                         + " | failing by severity: "
                         + ", ".join(f"{n} {k}" for k, n in reversed(s.by_severity.items()))
                         + (f" | {s.waived} waived" if s.waived else "")))
    if report.not_applicable and style.detail != "quiet":
        lines.append("Not applicable until the service states a fact (facts in auditor.yaml):")
        for n in report.not_applicable:
            lines.extend(textwrap.wrap(visible(f"{n.policy} ({n.environment}): {n.reason}"),
                                       width, initial_indent="  ", subsequent_indent="    "))
    if report.comparison is not None:
        c = report.comparison
        lines.append(visible(f"Compared with {c.base}: {c.new} new, {c.fixed} fixed, "
                             f"{c.existing} pre-existing (only new findings gate)"
                             + (f"; {c.note}" if c.note else "")))
    if report.gate is not None:
        lines.append(visible(f"Gate: {report.gate.status} (fail on {report.gate.fail_on}, "
                             f"exit {report.gate.exit_code})"))
    return lines


def selection_line(report: Report) -> str:
    """What a narrowed run evaluated, in one line (for the formats people read)."""
    sel = report.selection
    assert sel is not None
    given = [f"--section {sel.section}" if sel.section else
             f"--policy {','.join(sel.policy)}" if sel.policy else "",
             f"--skip-policy {','.join(sel.skip_policy)}" if sel.skip_policy else "",
             f"--min-severity {sel.min_severity}" if sel.min_severity else ""]
    return (f"Policies: {len(sel.selected)} of {len(sel.selected) + len(sel.skipped)} "
            f"evaluated ({' '.join(g for g in given if g)})")


def _unread(report: Report) -> list[Finding]:
    causes = {(s.environment, gap.reason) for s in report.live for gap in s.unavailable}
    return [f for f in report.findings if f.status == "error" and f.side in ("live", "drift")
            and any(env == f.environment and reason in f.message for env, reason in causes)]


def _live(states: list[LiveState], width: int, unread: int = 0) -> list[str]:
    """Which live sources each environment reads, and each cause that kept some from being
    read, once (the report's checks that needed them are errors, each with the cause)."""
    if not states:
        return []
    lines = ["Live state:"]
    for state in states:
        reads = ", ".join(state.reads) if state.reads else (
            "nothing (no kubernetes, aws or endpoints in this environment)")
        lines.append(visible(f"  {state.environment}: reads {reads}"))
        for gap in state.unavailable:
            text = visible(f"not read: {', '.join(gap.kinds)}: {gap.reason}")
            lines.extend(textwrap.wrap(text, width, initial_indent="    ",
                                       subsequent_indent="      ", break_long_words=False))
    if unread:
        lines.append(f"  {unread} checks could not run for these reasons: errors in the "
                     "report, listed with --verbose")
    return lines


def _defects(findings: Iterable[Finding]) -> list[_Row]:
    """One row per defect: a finding joins the row of the same fingerprint and status when
    that row has no finding of its side yet (the same defect seen on another side)."""
    rows: list[_Row] = []
    open_rows: dict[tuple[str, str], list[_Row]] = {}
    for f in findings:
        same = open_rows.setdefault((f.fingerprint, f.status), [])
        row = next((r for r in same if all(x.side != f.side for x in r.findings)), None)
        if row is None:
            row = _Row([])
            same.append(row)
            rows.append(row)
        row.findings.append(f)
    return rows


def _rows(defects: list[_Row], style: Style) -> list[str]:
    header = ("STATUS", "SEVERITY", "SIDE", "POLICY", "RESOURCE", "LOCATION")
    cells = [tuple(map(visible, (_status(d), d.lead.severity, d.sides, d.lead.policy,
                                 _resource(d.lead), _where(d)))) for d in defects]
    table = [header, *cells]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    below = style.width is not None and sum(widths) + 2 * (len(widths) - 1) > style.width
    if below:  # too wide for the terminal: the location goes under its row
        table = [row[:-1] for row in table]
        widths = widths[:-1]
    wrap = style.width or _WIDTH
    out = []
    for i, row in enumerate(table):
        padded = [cell.ljust(widths[j]) for j, cell in enumerate(row)]
        if style.colour and i > 0:
            padded[0] = click.style(padded[0], fg=_STATUS_COLOUR.get(row[0].split()[0]))
            padded[1] = click.style(padded[1], **_SEVERITY_STYLE.get(row[1], {}))  # type: ignore[arg-type]
        out.append("  ".join(padded).rstrip())
        if i == 0:
            continue
        defect = defects[i - 1]
        finding = defect.lead
        if below and cells[i - 1][-1] != "-":
            out.extend(_wrapped(f"at {cells[i - 1][-1]}", wrap))
        for message in dict.fromkeys(f.message for f in defect.findings):
            out.extend(_wrapped(visible(message), wrap, words=True))
        waived = next((f.waived for f in defect.findings if f.waived is not None), None)
        if waived is not None:
            out.append(f"    {visible(waived.summary())}")
        for command in finding.remediation.commands[:1]:  # the first is the runbook's fix
            out.append(f"    fix: {visible(' '.join(command.split()))}")
        if finding.runbook:
            out.append(f"    runbook: {visible(finding.runbook_url or finding.runbook)}")
    return out


def _wrapped(text: str, width: int, words: bool = False) -> list[str]:
    return textwrap.wrap(text, width, initial_indent="    ", subsequent_indent="    ",
                         break_long_words=words, break_on_hyphens=False)


def _passes(passed: list[PassedCheck], style: Style) -> list[str]:
    if not passed:
        return []
    status = click.style("PASS", fg="green") if style.colour else "PASS"  # ours: not escaped
    return [f"passed ({len(passed)}):"] + [
        f"  {status}  " + visible(f"{p.side:8}  {p.policy}  {_ident(p.resource, p.item)}")
        for p in passed]


def _quiet(by_env: dict[str, list[Finding]], style: Style) -> list[str]:
    """One line per failing (or errored) finding that is not waived: for a CI log or a
    pager's glance."""
    out = []
    for env in sorted(by_env):
        for d in _defects(by_env[env]):
            f = d.lead
            if all(x.waived for x in d.findings) or f.status not in ("fail", "error"):
                continue
            status = f.status.upper()
            text = visible(f" {f.severity} {env} {f.policy} {_resource(f)} at {_where(d)} "
                           f"({d.sides})")
            out.append((click.style(status, fg=_STATUS_COLOUR[status]) if style.colour
                        else status) + text)
    return out or ["No failing findings."]


def _status(d: _Row) -> str:
    """The row's status, marked waived when every side of it is, new when any side is."""
    marks = [m for m in ("waived" if all(f.waived for f in d.findings) else "",
                         "new" if any(f.baseline == "new" for f in d.findings) else "") if m]
    return d.lead.status.upper() + (f" ({', '.join(marks)})" if marks else "")


def _resource(f: Finding) -> str:
    return _ident(f.resource, f.item)


def _ident(resource: ResourceRef, item: str | None) -> str:
    return resource.ident + (f" [{item}]" if item else "")


def _where(d: _Row) -> str:
    located = next((f.location for f in d.findings if f.location is not None), None)
    return located.described() if located is not None else "-"
