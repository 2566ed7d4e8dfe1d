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


def holding(found: list[Section], command: str, prefer: str = "") -> Section | None:
    """The section whose commands include one that starts like ``command`` (word by word;
    ``deployment/x`` counts as ``deployment x``), the ``prefer`` one first."""
    want = _words(command)
    if not want:
        return None
    hits = [s for s in found if any(_words(c)[:len(want)] == want for c in s.commands)]
    return next((s for s in hits if s.ref == prefer), hits[0] if hits else None)


def _words(command: str) -> list[str]:
    return [w for w in re.split(r"[\s/]+", command) if w]

