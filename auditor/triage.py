"""Section triage (``auditor audit --section``): one runbook section's checks, live, fast.

The section is named by its anchor (``scale-up-pods``, ``page/#anchor``) or its title
(``Scale Up Pods``, ``2. High Latency``; case and the leading number do not matter). It
guards the policies the runbook puts under it or under its subsections; only they run, and
only the live kinds they read are collected. After the findings come the section's
commands (its own and its page's Diagnosis), with the environment's real names filled in
as shell words. Names go in by plain substitution of ``{{ names.X }}``, never by running
the page as a template: the runbook is an input like any other.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from auditor import runbook, runbook_sections
from auditor.checks.drift import READS
from auditor.config import Config
from auditor.errors import ConfigError
from auditor.policies import Policy
from auditor.runbook_sections import Section
from auditor.shell import placed

_NAME = re.compile(r"\{\{\s*names\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_NUMBER = re.compile(r"^\s*\d+(\.\d+)*\.?\s+")


@dataclass(frozen=True)
class Triage:
    section: Section
    policies: tuple[str, ...]  # the policies it guards
    kinds: frozenset[str] | None  # the live kinds they read; None: every kind
    commands: tuple[str, ...]  # its commands, then its page's Diagnosis commands


def resolve(config: Config, pack: list[Policy], wanted: str) -> Triage:
    anchors = runbook.anchors(config, pack)
    found = runbook_sections.sections(config)
    found += _generated(pack, anchors, {s.ref for s in found})
    section = _find(found, wanted)
    refs = {s.ref for s in _within(found, section)}
    guarded = [p for p in pack if anchors.get(p.id) in refs]
    if not guarded:
        raise ConfigError(f"--section {wanted}: no policy guards section {section.ref} "
                          f"({section.label}); sections with policies: "
                          + ", ".join(sorted(set(anchors.values()))[:12]))
    diagnosis = [c for s in found if s.page == section.page and "diagnos" in s.anchor
                 and s.ref not in refs for c in s.commands]
    mine = [c for s in _within(found, section) for c in s.commands]
    return Triage(section, tuple(p.id for p in guarded), kinds(guarded),
                  tuple(dict.fromkeys([*mine, *diagnosis])))


def kinds(policies: Iterable[Policy]) -> frozenset[str] | None:
    """The live kinds the policies read, or None when one of them does not say."""
    out: set[str] = set()
    for p in policies:
        reads = set(p.needs()) | READS.get(p.check or "", frozenset())
        if not reads:
            return None
        out |= reads
    return frozenset(out)


def fill(command: str, names: dict[str, str]) -> str:
    """``{{ names.X }}`` -> the name, quoted for where it stands in the command
    (:func:`auditor.shell.placed`); ``<X>`` when it is not known."""
    out, at = [], 0
    for m in _NAME.finditer(command):
        out.append(command[at:m.start()])
        value = names.get(m.group(1))
        out.append(placed(value, "".join(out)) if value else f"<{m.group(1)}>")
        at = m.end()
    return "".join(out) + command[at:]


def _find(found: list[Section], wanted: str) -> Section:
    text = wanted.strip()
    key = _plain(text)
    for test in (lambda s: s.ref.lstrip("/") == text.lstrip("/"),
                 lambda s: s.anchor == text.lstrip("#"),
                 lambda s: _plain(s.title) == key or _plain(s.label) == key):
        hits = [s for s in found if test(s)]
        if len(hits) == 1:
            return hits[0]
        if hits:
            raise ConfigError(f"--section {wanted}: several sections match: "
                              + ", ".join(s.ref for s in hits[:10]) + " (give page/#anchor)")
    near = [s.ref for s in found if key and (key in _plain(s.title) or key in s.anchor)]
    raise ConfigError(f"--section {wanted}: no runbook section has that anchor or title"
                      + (f" (did you mean {', '.join(near[:5])}?)" if near else ""))


def _plain(title: str) -> str:
    return " ".join(_NUMBER.sub("", title).lower().split())


def _within(found: list[Section], section: Section) -> list[Section]:
    """The section and its subsections (the headings after it, deeper than it)."""
    start = found.index(section)
    out = [section]
    for s in found[start + 1:]:
        if s.page != section.page or s.level <= section.level:
            break
        out.append(s)
    return out


def _generated(pack: list[Policy], anchors: dict[str, str], known: set[str]
               ) -> list[Section]:
    """The sections the site generates where the team's runbook has none: the pack's own
    (no runbook of the team's), and one per policy no section claims (``checks/#id``)."""
    seen: dict[str, Section] = {}
    for p in pack:
        ref = anchors.get(p.id, p.runbook.anchor)
        if ref in known:
            continue
        page, _, anchor = ref.partition("/#")
        title = p.runbook.section if ref == p.runbook.anchor else p.title
        seen.setdefault(ref, Section(page, anchor, title, 2, "", ()))
    return list(seen.values())
