"""The promise that reports' links resolve: every runbook anchor a check uses
(``common-issues/high-latency/#scale-up-pods``) must be a heading id on that page of the
built site. Checked on the HTML MkDocs wrote, so it is what a browser will find.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path as FsPath

_HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
_ANCHOR = re.compile(r"^([A-Za-z0-9_-]+(?:/[A-Za-z0-9_-]+)*)/#([^\s/#]+)$")


class _HeadingIds(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HEADINGS:
            self.ids.update(v for k, v in attrs if k == "id" and v)


def heading_ids(html_file: FsPath) -> set[str]:
    parser = _HeadingIds()
    parser.feed(html_file.read_text(encoding="utf-8"))
    return parser.ids


def page_file(site_dir: FsPath, page: str) -> FsPath:
    """Where a page path is served from with directory URLs."""
    return site_dir / page / "index.html" if page else site_dir / "index.html"


def unresolved(site_dir: FsPath, anchors: dict[str, str]) -> list[str]:
    """One message per anchor (mapped to who uses it) that the built site lacks."""
    problems = []
    cache: dict[FsPath, set[str]] = {}
    for anchor, user in sorted(anchors.items()):
        m = _ANCHOR.match(anchor)
        if not m:
            problems.append(f"{user}: runbook anchor {anchor!r} is not PAGE/#HEADING-ID")
            continue
        page, heading = m[1], m[2]
        html = page_file(site_dir, page)
        if not html.is_file():
            problems.append(f"{user}: runbook anchor {anchor!r}: the site has no page "
                            f"{page}/ (add site/{page}.md)")
            continue
        if html not in cache:
            cache[html] = heading_ids(html)
        if heading not in cache[html]:
            problems.append(f"{user}: runbook anchor {anchor!r}: page {page}/ has no heading "
                            f"with id {heading!r} (add {{#{heading}}} to its heading)")
    return problems
