"""The documentation: README.md is a short front page, and every link in it and in docs/
lands on something in this repository (a file, and a heading for a ``#anchor``).

Links are read as GitHub renders them: none inside fenced code blocks or code spans, and
anchors are GitHub's heading slugs. A link to a public web page is left alone; a link to a
path outside the repository (``../shared/...``, an absolute path, ``file:``) is an error,
since it works on one machine only.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote

import pytest

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"
DOCS = REPO / "docs"
MAX_README_LINES = 150

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_CODE_SPAN = re.compile(r"(`+)(?:(?!\1)(?!\n[ \t]*\n).)+?\1", re.S)  # within a paragraph
_INLINE_LINK = re.compile(
    r"!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*<?(?P<target>[^)\s>]*)>?"
    r"(?:\s+(?:\"[^\"]*\"|'[^']*'|\([^)]*\)))?\s*\)")
_REFERENCE_DEF = re.compile(r"^ {0,3}\[[^\]]+\]:\s*<?(?P<target>\S+?)>?(?:\s|$)", re.M)
_HTML_LINK = re.compile(r"""\b(?:href|src)\s*=\s*["'](?P<target>[^"']+)["']""")
_ATX = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(?P<text>.*?))?(?:[ \t]+#+)?[ \t]*$")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_PUBLIC = ("http://", "https://", "mailto:")


def doc_files() -> list[Path]:
    """README.md and every Markdown page under docs/."""
    return [README, *sorted(DOCS.rglob("*.md"))]


def _rel(path: Path) -> str:
    return path.relative_to(REPO).as_posix()


def prose(text: str) -> list[str]:
    """The lines of ``text`` outside fenced code blocks (those inside are blanked, so line
    numbers stay)."""
    out: list[str] = []
    fence: str | None = None
    for line in text.splitlines():
        match = _FENCE.match(line)
        if fence is None and match:
            fence = match.group(1)
            out.append("")
        elif fence is not None:
            if match and match.group(1)[0] == fence[0] and len(match.group(1)) >= len(fence):
                fence = None
            out.append("")
        else:
            out.append(line)
    return out


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: its text without markup, lowercase, characters other
    than letters, digits, spaces, hyphens and underscores removed, spaces to hyphens."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link: its text
    text = text.replace("`", "").strip().lower()
    text = "".join(c for c in text if c.isalnum() or c in " -_")
    return text.replace(" ", "-")


def anchors(text: str) -> set[str]:
    """Every heading's anchor in a Markdown text (a repeated slug gets -1, -2, ...)."""
    lines = prose(text)
    headings: list[str] = []
    for i, line in enumerate(lines):
        atx = _ATX.match(line)
        if atx:
            headings.append(atx.group("text") or "")
        elif (_SETEXT.match(line) and i > 0 and lines[i - 1].strip()
              and not _ATX.match(lines[i - 1]) and not lines[i - 1].lstrip().startswith(
                  ("|", "-", "*", "+", ">"))):
            headings.append(lines[i - 1])
    seen: dict[str, int] = {}
    out: set[str] = set()
    for heading in headings:
        base = slug(heading)
        count = seen.get(base, 0)
        seen[base] = count + 1
        out.add(base if count == 0 else f"{base}-{count}")
    return out


def links(text: str) -> Iterator[tuple[int, str]]:
    """(line, target) of every link and image in a Markdown text, outside code."""
    body = "\n".join(prose(text))
    # Blank code spans, keeping their newlines so that line numbers stay right.
    body = _CODE_SPAN.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), body)
    found: list[tuple[int, str]] = []
    for pattern in (_INLINE_LINK, _REFERENCE_DEF, _HTML_LINK):
        for match in pattern.finditer(body):
            line = body.count("\n", 0, match.start("target")) + 1
            found.append((line, match.group("target")))
    yield from sorted(found)


def problem(source: Path, target: str) -> str | None:
    """What is wrong with a link from ``source`` to ``target``, or None."""
    if target.startswith(_PUBLIC):
        return None
    if _SCHEME.match(target):
        return "links to a path outside the repository (a URL scheme other than http(s))"
    path_part, _, anchor = target.partition("#")
    path_part = unquote(path_part)
    if path_part.startswith("/") or path_part.startswith("\\"):
        return "is an absolute path"
    if path_part.replace("\\", "/").startswith("../shared"):
        return "links to ../shared, outside the repository"
    if not target:
        return "is empty"
    resolved = (source.parent / path_part).resolve() if path_part else source
    if not resolved.is_relative_to(REPO):
        return "leads out of the repository"
    if not resolved.exists():
        return f"{_rel(resolved)} does not exist"
    if (anchor and resolved.suffix == ".md" and resolved.is_file()
            and anchor not in anchors(resolved.read_text(encoding="utf-8"))):
        return f"{_rel(resolved)} has no heading with the anchor #{anchor}"
    return None


def test_readme_is_a_front_page() -> None:
    count = len(README.read_text(encoding="utf-8").splitlines())
    assert count <= MAX_README_LINES, (
        f"README.md has {count} lines (at most {MAX_README_LINES}): move the details into "
        "a page under docs/ and link it")


@pytest.mark.parametrize("page", doc_files(), ids=_rel)
def test_every_link_lands_in_the_repository(page: Path) -> None:
    wrong = [f"{_rel(page)}:{line}: {target} {why}"
             for line, target in links(page.read_text(encoding="utf-8"))
             if (why := problem(page, target)) is not None]
    assert not wrong, "\n".join(wrong)


def test_readme_links_every_page_under_docs() -> None:
    linked = {(README.parent / unquote(t.partition("#")[0])).resolve()
              for _, t in links(README.read_text(encoding="utf-8"))
              if not t.startswith(_PUBLIC) and t.partition("#")[0]}
    unlinked = [_rel(p) for p in sorted(DOCS.rglob("*.md")) if p.resolve() not in linked]
    assert not unlinked, f"README.md's documentation list misses {unlinked}"


# The checker itself: a checker that finds no link would pass any documentation.

def test_the_checker_reads_links_as_github_does(tmp_path: Path) -> None:
    text = ("# Title\n\nSee [a](a.md#part-two), ![img](img.png 'x') and [ref][r].\n\n"
            "[r]: <docs/b.md>\n\n```sh\n[not](a link.md)\n## not a heading\n```\n\n"
            "`[code](span.md)` and <a href=\"c.md\">c</a>, [web](https://example.com)\n")
    assert list(links(text)) == [(3, "a.md#part-two"), (3, "img.png"), (5, "docs/b.md"),
                                 (12, "c.md"), (12, "https://example.com")]
    assert anchors(text) == {"title"}


def test_slugs_are_githubs() -> None:
    assert slug("Configuration: `auditor.yaml`") == "configuration-auditoryaml"
    assert slug("1. What a policy sees: resources and sides") == (
        "1-what-a-policy-sees-resources-and-sides")
    assert slug("4. `applies_to`: what is checked") == "4-applies_to-what-is-checked"
    assert slug("Pull-request gate") == "pull-request-gate"
    assert slug("In CI: [the gate](ci.md) — step by step") == "in-ci-the-gate--step-by-step"
    assert anchors("## Notes\n\ntext\n\n## Notes\n\nLater\n-----\n") == {
        "notes", "notes-1", "later"}


def test_the_checker_refuses_links_out_of_the_repository() -> None:
    page = DOCS / "policies.md"
    assert problem(page, "../../shared/POLICY-CATALOG.md") is not None
    assert problem(README, "../shared/POLICY-CATALOG.md") is not None
    assert problem(README, "/etc/passwd") is not None
    assert problem(README, "file:///etc/passwd") is not None
    assert problem(README, "docs/no-such-page.md") is not None
    assert problem(README, "#no-such-heading") is not None
    assert problem(README, "https://squidfunk.github.io/mkdocs-material/") is None
    assert problem(page, "../README.md") is None
    found = sum(len(list(links(p.read_text(encoding="utf-8")))) for p in doc_files())
    assert found >= 50, f"only {found} links in the documentation: is the link reader broken?"
