"""A compact Markdown summary for a pull-request comment: a heading, a one-line verdict, a
table of failing findings (most severe first) linked to their runbook sections, then
collapsed blocks for findings that could not be decided and for remediation commands.
Every string from the report is escaped, as resource names and messages are untrusted.
A comment over GitHub's 65,536-character limit shows fewer findings per list, each list
ending with an "… and N more" line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from auditor.formats.sarif_format import rooted, runbook_links
from auditor.models import SEVERITIES, Finding, Report, severity_rank
from auditor.report import gating

MAX_CHARS = 65_536  # GitHub's limit on a comment body
MESSAGE_CHARS = 140
_ICON = {"critical": "🔴", "high": "🟠", "medium": "🟡", "low": "⚪"}
# Inline Markdown, GitHub's $math$, and table pipes: a backslash makes each literal.
_SPECIAL = re.compile(r"([\\`*_\[\]|~$])")
# What would open a heading, list or quote at the start of a line.
_BLOCK_START = re.compile(r"^(?:([#+\-=])|(\d+)([.)]))")
# Reserved URL characters stay; spaces, parentheses and quotes are percent-encoded.
_URL_SAFE = ":/?#[]@!$&'*+,;=%~"


def render(report: Report, max_chars: int = MAX_CHARS) -> str:
    lists = _Lists.of(report)
    links = runbook_links(report)
    # Every entry is at least 10 characters on a line of its own, so a list cut to more
    # than this cannot fit.
    most = min(max(lists.longest(), len(report.not_applicable)), max_chars // 10 + 1)
    # The largest number of entries per list that fits (a size grows with it): doubling
    # from a few, then halving the last step. Entries are formatted only as far as the
    # probes reach, so a fleet's 40,000 findings are not all formatted for one comment.
    fits, probe = 0, min(most, 64)
    while True:
        lines = _Lines.of(report, links, lists, probe)
        text = _document(report, lists, lines, probe)
        if _size(text) > max_chars:
            break
        if probe == most:
            return text
        fits, probe = probe, min(most, probe * 2)
    low, high = fits, probe - 1
    while low < high:
        mid = (low + high + 1) // 2
        if _size(_document(report, lists, lines, mid)) <= max_chars:
            low = mid
        else:
            high = mid - 1
    text = _document(report, lists, lines, low)
    if _size(text) > max_chars:  # only a pathological heading gets here
        text = text[: max_chars // 2] + "\n\n…\n"
    return text


@dataclass
class _Lists:
    """The report's findings as the comment groups them: what gates (failing, then
    undecided), what the base had already, what a waiver covers, what was fixed."""

    failing: list[Finding]
    undecided: list[Finding]
    existing: list[Finding]
    waived: list[Finding]
    fixed: list[Finding]

    @classmethod
    def of(cls, report: Report) -> _Lists:
        counted = gating(report)
        ids = {id(f) for f in counted}
        failing = sorted((f for f in counted if f.status == "fail"),
                         key=lambda f: -severity_rank(f.severity))  # stable: report order
        return cls(
            failing=failing, undecided=[f for f in counted if f.status != "fail"],
            existing=[f for f in report.findings if id(f) not in ids and f.waived is None],
            waived=[f for f in report.findings if f.waived is not None],
            fixed=report.comparison.fixed_findings if report.comparison else [])

    def longest(self) -> int:
        return max(len(self.failing), len(self.undecided), len(self.existing),
                   len(self.waived), len(self.fixed))


def marker(service: str) -> str:
    """The hidden first line a workflow finds its earlier comment by (one per service)."""
    return f"<!-- runbook-auditor: {re.sub(r'[^A-Za-z0-9._/-]', '_', service)} -->"


@dataclass
class _Lines:
    """Each list's first ``most`` entries, formatted once for the steps of the search
    that join at most that many."""

    head: list[str]  # of the failing table
    rows: list[str]
    undecided: list[str]
    existing: list[str]
    fixed: list[str]
    waived: list[str]
    not_applicable: list[str]
    remedies: list[list[str] | None]  # of each failing finding, None without a fix

    @classmethod
    def of(cls, report: Report, links: dict[str, str], lists: _Lists, most: int) -> _Lines:
        many_envs = len({f.environment for f in report.findings}
                        | set(report.environments)) > 1
        return cls(
            head=_table_head(many_envs),
            rows=[_row(report, links, f, many_envs) for f in lists.failing[:most]],
            undecided=[f"- **{f.status}** · {_what(report, links, f)} — "
                       f"{_esc(_cut(f.message))}" for f in lists.undecided[:most]],
            existing=[f"- **{_label(f)}** · {_what(report, links, f)} — "
                      f"{_esc(_cut(f.message))}" for f in lists.existing[:most]],
            fixed=[f"- ✅ {_label(f)} · {_what(report, links, f, linked=False)}"
                   for f in lists.fixed[:most]],
            waived=[f"- {_label(f)} · {_what(report, links, f)} — "
                    f"{_esc(_cut(f.waived.summary()))}" for f in lists.waived[:most] if f.waived],
            not_applicable=[f"- `{n.policy}` · {_esc(n.environment)} — {_esc(n.reason)}"
                            for n in report.not_applicable[:most]],
            remedies=[_remedy(report, links, f) for f in lists.failing[:most]])


def _document(report: Report, lists: _Lists, lines: _Lines, shown: int) -> str:
    envs = ", ".join(report.environments) or "no environment"
    out = [marker(report.service), f"### runbook-auditor: {_esc(report.service)} "
           f"({_esc(envs)})", "", _verdict(report, lists), ""]
    if report.comparison is not None:
        out += [_comparison(report), ""]
    if report.selection is not None:  # a narrowed run says so: its silence is partial
        from auditor.formats.table_format import selection_line

        out += [_esc(selection_line(report)), ""]
    if lists.failing:
        out += lines.head
        out += lines.rows[:shown]
        out += _more(len(lists.failing) - shown, "failing finding")
        out.append("")
    noun = "new error or unknown finding" if report.comparison else "error or unknown finding"
    out += _details(_count(len(lists.undecided), noun), lines.undecided,
                    len(lists.undecided), shown)
    out += _details(f"Pre-existing ({len(lists.existing)}, not gated)", lines.existing,
                    len(lists.existing), shown)
    out += _details(f"Fixed ({len(lists.fixed)})", lines.fixed, len(lists.fixed), shown)
    out += _details(f"Waived ({len(lists.waived)}, not gated)", lines.waived,
                    len(lists.waived), shown)
    out += _details(f"Not applicable ({len(report.not_applicable)}: the service states no "
                    "fact they need)", lines.not_applicable, len(report.not_applicable), shown)
    fixes = [r for r in lines.remedies[:shown] if r is not None]
    if fixes:
        out += [f"<details><summary>Remediation ({_count(len(fixes), 'failing finding')})"
                "</summary>", ""]
        for remedy in fixes:
            out += remedy
        out += ["</details>", ""]
    return "\n".join(out).rstrip() + "\n"


def _remedy(report: Report, links: dict[str, str], f: Finding) -> list[str] | None:
    """A failing finding's entry in the remediation block; None when it has no fix."""
    if not (f.remediation.text or f.remediation.commands):
        return None
    out = [f"{_ICON[f.severity]} **{f.severity}** · {_what(report, links, f)}", ""]
    if f.provenance is not None and f.provenance.summary():
        out += [f"Changed live: {_esc(_cut(f.provenance.summary()))}", ""]
    if f.remediation.text:
        out += [_esc(f.remediation.text), ""]
    s = f.remediation.suggestion
    if s is not None and f.baseline != "existing" and all(
            c.isprintable() or c == "\t" for c in s.text):
        at = "/".join(p for p in (report.source_root, s.file) if p)
        out += [f"Suggested change to {_esc(f'{at}:{s.line}')} (`auditor fix`):", "",
                *_fenced(s.text, "suggestion"), ""]
    if f.remediation.commands:
        out += [*_fenced("\n".join(f.remediation.commands)), ""]
    if f.remediation.checks:
        out += ["To look:", "", *_fenced("\n".join(f.remediation.checks)), ""]
    return out


def _size(text: str) -> int:
    # GitHub counts UTF-16 code units like JavaScript does: the icons count twice.
    return len(text.encode("utf-16-le")) // 2


def _details(summary: str, entries: list[str], total: int, shown: int) -> list[str]:
    """A collapsed list of ``total`` entries, the first ``shown`` of them (formatted)."""
    if not total:
        return []
    return [f"<details><summary>{summary}</summary>", "", *entries[:shown],
            *_more(total - shown, "finding"), "", "</details>", ""]


def _label(f: Finding) -> str:
    return f"{f.severity} {f.status}" if f.status == "fail" else f.status


def _comparison(report: Report) -> str:
    c = report.comparison
    assert c is not None
    text = (f"**{c.new} new** · {c.fixed} fixed · {c.existing} pre-existing "
            f"(compared with {_esc(c.base)}; only new findings gate)")
    return text + (f"  \n_{_esc(c.note)}_" if c.note else "")


def _verdict(report: Report, lists: _Lists) -> str:
    fails, undecided = lists.failing, lists.undecided
    errors = sum(1 for f in undecided if f.status == "error")
    unknown = sum(1 for f in undecided if f.status == "unknown")
    passing = report.summary.by_status.get("pass", sum(report.summary.passes.values()))
    icon = "❌" if fails else "⚠️" if errors or unknown else "✅"
    if report.gate is not None:  # the gate decides the icon: --fail-on may tolerate fails
        icon = {"failed": "❌", "incomplete": "⚠️"}.get(
            report.gate.status, "⚠️" if fails or errors or unknown else "✅")
    per = [f"{n} {s}" for s in reversed(SEVERITIES)
           if (n := sum(1 for f in fails if f.severity == s))]
    new = " new" if report.comparison is not None else ""
    parts = [f"{len(fails)}{new} failing" + (f" ({', '.join(per)})" if per else "")]
    if errors:
        parts.append(_count(errors, "error"))
    if unknown:
        parts.append(f"{unknown} unknown")
    if lists.waived:
        parts.append(f"{len(lists.waived)} waived")
    parts.append(f"{passing} passing")
    verdict = f"{icon} " + " · ".join(parts)
    if report.gate is not None:
        verdict += f" — gate {report.gate.status} (fail on {report.gate.fail_on})"
    return verdict


def _table_head(many_envs: bool) -> list[str]:
    head = ["Severity", "Policy", *(["Environment"] if many_envs else []), "Resource",
            "Location", "Message"]
    return ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]


def _row(report: Report, links: dict[str, str], f: Finding, many_envs: bool) -> str:
    cells = [f"{_ICON[f.severity]} {f.severity}", _policy(links, f),
             *([_esc(f.environment)] if many_envs else []), _esc(_resource(f)),
             _where(report, f) or "—", _esc(_cut(f.message))]
    return "| " + " | ".join(cells) + " |"


def _what(report: Report, links: dict[str, str], f: Finding, linked: bool = True) -> str:
    """Policy, environment, resource and location of a finding, for list entries."""
    parts = [_policy(links, f), _esc(f.environment), _esc(_resource(f))]
    if f.location is not None:
        parts.append(_where(report, f) if linked else _esc(_where_text(f)))
    return " · ".join(parts)


def _policy(links: dict[str, str], f: Finding) -> str:
    url = f.runbook_url or links.get(f.policy, "")
    # Only absolute web links: a relative one would resolve against the pull request.
    if urlsplit(url).scheme not in ("http", "https"):
        return _esc(f.policy)
    return f"[{_esc(f.policy)}]({quote(url, safe=_URL_SAFE)})"


def _more(hidden: int, noun: str) -> list[str]:
    if hidden <= 0:
        return []
    return ["", f"_… and {_count(hidden, 'more ' + noun)} (comment size limit; "
                "see the full report)._"]


def _fenced(code: str, lang: str = "bash") -> list[str]:
    # A fence longer than any backtick run inside, so a command cannot close it.
    longest = max((len(run) for run in re.findall(r"`+", code)), default=0)
    fence = "`" * max(3, longest + 1)
    return [f"{fence}{lang}", code, fence]


def _resource(f: Finding) -> str:
    return f.resource.ident + (f" [{f.item}]" if f.item else "")


def _where_text(f: Finding) -> str:
    return f.location.described() if f.location is not None else ""


def _where(report: Report, f: Finding) -> str:
    """``file:line (key)``, linked to the line at this revision when the report knows
    where the files are on the web (``source_url``)."""
    text = _esc(_where_text(f))
    if not text or not report.source_url or urlsplit(report.source_url).scheme != "https":
        return text
    loc = rooted(f, report.source_root).location
    assert loc is not None
    if loc.file.startswith(("/", "../")):  # not in the repository: nothing to link to
        return text
    url = report.source_url + quote(loc.file) + (f"#L{loc.line}" if loc.line else "")
    return f"[{text}]({quote(url, safe=_URL_SAFE)})"


def _cut(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MESSAGE_CHARS else text[: MESSAGE_CHARS - 1].rstrip() + "…"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _esc(text: str) -> str:
    """Report text as literal Markdown: one line, no control characters (a terminal shows
    the file too), HTML as entities, markup backslashed."""
    text = " ".join("".join(c if c.isprintable() else " " for c in text).split())
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _SPECIAL.sub(r"\\\1", text)
    return _BLOCK_START.sub(lambda m: f"\\{m[1]}" if m[1] else f"{m[2]}\\{m[3]}", text)
