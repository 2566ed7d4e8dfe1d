"""The runbook cut into sections, with the commands each one shows.

A section is a heading and what follows it up to the next heading; its commands are the
lines of its fenced code blocks, continuation lines (``\\``) joined, comments left out.
Drift provenance uses them to say which section holds the command that changed a field
(``kubectl patch hpa`` is in "2. High Latency > 1. Scale Up Pods"); section triage
(``auditor audit --section``) prints a section's commands with the real names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from auditor import runbook
from auditor.config import Config

_FENCE = re.compile(r"^\s*(```|~~~)")
_HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t]*$")
_ATTRS = re.compile(r"\s*\{[^}]*\}\s*$")
MAX_COMMANDS = 200  # per section: a page is bounded, this keeps a pasted log out


@dataclass(frozen=True)
class Section:
    page: str  # the page id (``common-issues/high-latency``)
    anchor: str  # the heading's id
    title: str
    level: int
    page_title: str
    commands: tuple[str, ...]

    @property
    def ref(self) -> str:
        return f"{self.page}/#{self.anchor}"

    @property
    def label(self) -> str:
        """``2. High Latency > 1. Scale Up Pods``, or the page's title for its top heading."""
        return self.title if self.level == 1 or self.title == self.page_title else \
            f"{self.page_title} > {self.title}"


def sections(config: Config | None) -> list[Section]:
    """Every section of the team's runbook, in page order (none without one)."""
    source = runbook.source_dir(config)
    if source is None or not source.is_dir():
        return []
    return [s for page, text in runbook.pages(source) for s in parse(page, text)]


def parse(page: str, text: str) -> list[Section]:
    out: list[Section] = []
    page_title = ""
    heading: tuple[int, str, str] | None = None
    commands: list[str] = []
    fenced = False
    pending = ""

    def close() -> None:
        if heading is not None:
            out.append(Section(page, heading[2], heading[1], heading[0], page_title,
                               tuple(commands[:MAX_COMMANDS])))

    for line in text.splitlines():
        if _FENCE.match(line):
            fenced, pending = not fenced, ""
            continue
        if fenced:
            code = line.strip()
            if not code or code.startswith("#"):
                continue
            if code.endswith("\\"):
                pending += code[:-1].rstrip() + " "
                continue
            commands.append(pending + code)
            pending = ""
            continue
        m = _HEADING.match(line)
        if m:
            close()
            title = _ATTRS.sub("", m.group(2)).strip()
            explicit = runbook.heading_ids(line)
            heading = (len(m.group(1)), title, next(iter(explicit)) if explicit else
                       runbook.slug(title))
            page_title = page_title or title
            commands = []
    close()
    return out


def holding(found: list[Section], command: str, field: str = "",
            prefer: str = "") -> Section | None:
    """The section with a command that starts like ``command`` (word by word;
    ``deployment/x`` counts as ``deployment x``) and names the changed ``field`` (its last
    key, or a word of its item: ``minReplicas``, ``max_connections`` as
    ``ParameterName=max_connections``, ``5432``), the ``prefer`` one first; None when no
    command says both (a section about another change is no answer)."""
    want = _words(command)
    if not want:
        return None
    marks = [m for m in _marks(field) if m not in {_squash(w) for w in want}]
    if field and not marks:  # the field says no more than the command (`env` of `set env`)
        return None
    hits = [s for s in found if any(
        _words(c)[:len(want)] == want and (not marks or any(m in _squash(c) for m in marks))
        for c in s.commands)]
    return next((s for s in hits if s.ref == prefer), hits[0] if hits else None)


def _words(command: str) -> list[str]:
    return [w for w in re.split(r"[\s/]+", command) if w]


def _squash(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def _marks(field: str) -> list[str]:
    """What a command about ``field`` names: its last key, or the words of its last item
    (``env[LOG_LEVEL]`` -> loglevel; ``ingress[tcp 5432 from 10.0.0.0/8]`` -> 5432, ...)."""
    last = re.split(r"\.(?![^\[]*\])", field)[-1] if field else ""
    inner = re.findall(r"\[([^\]]*)\]", last)
    words = re.split(r"[\s,]+", inner[-1]) if inner else [last.split("[", 1)[0]]
    return [m for w in words if len(m := _squash(w)) >= 3 and m != "from"]

