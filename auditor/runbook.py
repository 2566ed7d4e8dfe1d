"""Which section of the team's runbook guards which policy.

A team's runbook is a folder of Markdown pages (``runbook:`` in auditor.yaml, else
``site/`` beside the config); without one, the site shows a runbook generated from the
policy pack (:mod:`auditor.runbook_template`). A section claims policies by their stable
ids, in the page (``{{ findings("heading-id", "policy-id", ...) }}`` under the heading
``{ #heading-id }``) or in the config (``runbook_sections: {policy-id: page/#heading-id}``,
which wins). A policy no section claims keeps its own section when the runbook has it
(the pack's anchor, e.g. ``common-issues/high-latency/#scale-up-pods``), else gets one on
the generated ``checks`` page. Reports and the site link each finding there.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from pathlib import Path as FsPath

from auditor import project
from auditor.config import Config
from auditor.policies import Policy

UNCLAIMED_PAGE = "checks"  # the generated page of the policies no section claims
MAX_PAGES = 2000
MAX_PAGE_BYTES = 1 << 20
_CLAIM = re.compile(r"""findings\(\s*["']([A-Za-z0-9_-]+)["']((?:\s*,\s*["'][a-z0-9-]+["'])*)"""
                    r"""\s*\)""")
_ID = re.compile(r"""["']([a-z0-9-]+)["']""")
_HEADING = re.compile(r"^#{1,6}[ \t]+(.+?)[ \t]*$", re.M)
_ATTR_ID = re.compile(r"\{[^}]*#([A-Za-z0-9_-]+)[^}]*\}[ \t]*$")


def source_dir(config: Config | None) -> FsPath | None:
    """The team's runbook folder, or None for the one generated from the pack."""
    if config is None:
        return None
    if config.runbook is not None:
        return config.path(config.runbook)
    beside = config.base_dir / "site"
    return beside if beside.is_dir() else None


def pages(source: FsPath) -> list[tuple[str, str]]:
    """(page id, text) of the runbook's Markdown pages, bounded; a page the project does
    not let be read (a link out of it, too large) is skipped here: the site build says."""
    out: list[tuple[str, str]] = []
    with project.confined(project.root_of(source)):
        for path in sorted(source.rglob("*.md"))[:MAX_PAGES]:
            rel = path.relative_to(source)
            if any(part.startswith(("_", ".")) for part in rel.parts):
                continue  # partials, not pages
            if project.refusal(path) is not None:
                continue
            try:
                text = path.read_bytes()[:MAX_PAGE_BYTES].decode("utf-8", "replace")
            except OSError:
                continue
            page = rel.with_suffix("").as_posix()
            out.append((page.removesuffix("/index").removesuffix("index"), text))
    return out


def heading_ids(text: str) -> set[str]:
    """The ids the page's headings get: an explicit ``{ #id }``, else MkDocs' slug."""
    ids = set()
    for title in _HEADING.findall(text):
        explicit = _ATTR_ID.search(title)
        ids.add(explicit.group(1) if explicit else slug(title))
    return ids


def slug(title: str) -> str:
    """Python-Markdown's default heading slug (what MkDocs' toc gives a heading)."""
    text = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    text = re.sub(r"[^\w\s-]", "", text).strip().lower()
    return re.sub(r"[-\s]+", "-", text)


def anchors(config: Config | None, policies: Iterable[Policy]) -> dict[str, str]:
    """policy id -> the runbook section that guards it (``page/#heading-id``)."""
    source = source_dir(config)
    claimed: dict[str, str] = {}  # the first section that claims a policy, in page order
    headings: dict[str, set[str]] = {}
    if source is not None and source.is_dir():
        for page, text in pages(source):  # read once: claims and heading ids
            headings[page] = heading_ids(text)
            for match in _CLAIM.finditer(text):
                for policy_id in _ID.findall(match.group(2)):
                    claimed.setdefault(policy_id, f"{page}/#{match.group(1)}")
    if config is not None:
        claimed.update(config.runbook_sections)
    out = {}
    for policy in policies:
        anchor = claimed.get(policy.id)
        if anchor is None:
            page, _, heading = policy.runbook.anchor.partition("/#")
            own = source is None or heading in headings.get(page, set())
            anchor = policy.runbook.anchor if own else f"{UNCLAIMED_PAGE}/#{policy.id}"
        out[policy.id] = anchor
    return out
