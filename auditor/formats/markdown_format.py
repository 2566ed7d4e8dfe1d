"""A compact Markdown summary for a pull-request comment: a heading, a one-line verdict, a
table of failing findings (most severe first) linked to their runbook sections, then
collapsed blocks for findings that could not be decided and for remediation commands.
Every string from the report is escaped, as resource names and messages are untrusted.
A comment over GitHub's 65,536-character limit shows fewer findings per list, each list
ending with an "… and N more" line.
"""

from __future__ import annotations

import re
from urllib.parse import quote, urlsplit

from auditor.formats.sarif_format import runbook_links
from auditor.models import SEVERITIES, Finding, Report, severity_rank

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
    failing = sorted((f for f in report.findings if f.status == "fail"),
                     key=lambda f: -severity_rank(f.severity))  # stable: report order
    undecided = [f for f in report.findings if f.status != "fail"]
    links = runbook_links(report)
    most = max(len(failing), len(undecided))
    text = _document(report, links, failing, undecided, most)
    if _size(text) <= max_chars:
        return text
    # The largest number of entries per list that fits; a size grows with it.
    low, high = 0, most
    while low < high:
        mid = (low + high + 1) // 2
        if _size(_document(report, links, failing, undecided, mid)) <= max_chars:
            low = mid
        else:
            high = mid - 1
    text = _document(report, links, failing, undecided, low)
    if _size(text) > max_chars:  # only a pathological heading gets here
        text = text[: max_chars // 2] + "\n\n…\n"
    return text


def _size(text: str) -> int:
    # GitHub counts UTF-16 code units like JavaScript does: the icons count twice.
    return len(text.encode("utf-16-le")) // 2


def _document(report: Report, links: dict[str, str], failing: list[Finding],
              undecided: list[Finding], shown: int) -> str:
    envs = ", ".join(report.environments) or "no environment"
    out = [f"### runbook-auditor: {_esc(report.service)} ({_esc(envs)})", "",
           _verdict(report), ""]
    many_envs = len({f.environment for f in report.findings} | set(report.environments)) > 1
    if failing:
        out += _table(links, failing[:shown], many_envs)
        out += _more(len(failing) - shown, "failing finding")
        out.append("")
    if undecided:
        out += [f"<details><summary>{_count(len(undecided), 'error or unknown finding')}"
                "</summary>", ""]
        out += [f"- **{f.status}** · {_what(links, f)} — {_esc(_cut(f.message))}"
                for f in undecided[:shown]]
        out += _more(len(undecided) - shown, "finding")
        out += ["", "</details>", ""]
    fixes = [f for f in failing[:shown] if f.remediation.text or f.remediation.commands]
    if fixes:
        out += [f"<details><summary>Remediation ({_count(len(fixes), 'failing finding')})"
                "</summary>", ""]
        for f in fixes:
            out += [f"{_ICON[f.severity]} **{f.severity}** · {_what(links, f)}", ""]
            if f.remediation.text:
                out += [_esc(f.remediation.text), ""]
            if f.remediation.commands:
                out += [*_fenced("\n".join(f.remediation.commands)), ""]
        out += ["</details>", ""]
    return "\n".join(out).rstrip() + "\n"


def _verdict(report: Report) -> str:
    fails = [f for f in report.findings if f.status == "fail"]
    errors = sum(1 for f in report.findings if f.status == "error")
    unknown = sum(1 for f in report.findings if f.status == "unknown")
    passing = report.summary.by_status.get("pass", sum(report.summary.passes.values()))
    icon = "❌" if fails else "⚠️" if errors or unknown else "✅"
    if report.gate is not None:  # the gate decides the icon: --fail-on may tolerate fails
        icon = {"failed": "❌", "incomplete": "⚠️"}.get(
            report.gate.status, "⚠️" if fails or errors or unknown else "✅")
    per = [f"{n} {s}" for s in reversed(SEVERITIES)
           if (n := sum(1 for f in fails if f.severity == s))]
    parts = [f"{len(fails)} failing" + (f" ({', '.join(per)})" if per else "")]
    if errors:
        parts.append(_count(errors, "error"))
    if unknown:
        parts.append(f"{unknown} unknown")
    parts.append(f"{passing} passing")
    verdict = f"{icon} " + " · ".join(parts)
    if report.gate is not None:
        verdict += f" — gate {report.gate.status} (fail on {report.gate.fail_on})"
    return verdict


def _table(links: dict[str, str], findings: list[Finding], many_envs: bool) -> list[str]:
    head = ["Severity", "Policy", *(["Environment"] if many_envs else []), "Resource",
            "Location", "Message"]
    rows = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for f in findings:
        cells = [f"{_ICON[f.severity]} {f.severity}", _policy(links, f),
                 *([_esc(f.environment)] if many_envs else []), _esc(_resource(f)),
                 _esc(_where(f)) or "—", _esc(_cut(f.message))]
        rows.append("| " + " | ".join(cells) + " |")
    return rows


def _what(links: dict[str, str], f: Finding) -> str:
    """Policy, environment, resource and location of a finding, for list entries."""
    parts = [_policy(links, f), _esc(f.environment), _esc(_resource(f))]
    if f.location is not None:
        parts.append(_esc(_where(f)))
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


def _fenced(code: str) -> list[str]:
    # A fence longer than any backtick run inside, so a command cannot close it.
    longest = max((len(run) for run in re.findall(r"`+", code)), default=0)
    fence = "`" * max(3, longest + 1)
    return [f"{fence}bash", code, fence]


def _resource(f: Finding) -> str:
    r = f.resource
    ident = f"{r.kind}/{r.namespace}/{r.name}" if r.namespace else f"{r.kind}/{r.name}"
    return ident + (f" [{f.item}]" if f.item else "")


def _where(f: Finding) -> str:
    if f.location is None:
        return ""
    return f"{f.location.file}:{f.location.line}" if f.location.line else f.location.file


def _cut(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MESSAGE_CHARS else text[: MESSAGE_CHARS - 1].rstrip() + "…"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _esc(text: str) -> str:
    """Report text as literal Markdown: one line, HTML as entities, markup backslashed."""
    text = " ".join(text.split())
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _SPECIAL.sub(r"\\\1", text)
    return _BLOCK_START.sub(lambda m: f"\\{m[1]}" if m[1] else f"{m[2]}\\{m[3]}", text)
