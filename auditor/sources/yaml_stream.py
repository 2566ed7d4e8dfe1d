"""A stream of YAML documents split the way the tool that applies it splits it.

Neither Helm nor kubectl hands a multi-document file to a YAML parser: each cuts it at
``---`` lines first, with its own rule, and parses every piece alone (so one broken
document is one error, never the whole file's).

- Helm (``releaseutil.SplitManifests``) cuts at every line that starts with ``---``,
  whatever follows: ``---# comment`` and even ``---apiVersion: v1`` start a document.
- kubectl (apimachinery's ``YAMLReader``) cuts at a line that is ``---`` followed by
  nothing but spaces or a comment; anything else after ``---`` is an error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Piece:
    """One document's text; ``line`` is the 0-based line of the whole text it starts on.
    ``error`` is set (and ``text`` empty) where the splitter rejects a separator."""

    text: str
    line: int
    error: str | None = None


_HELM_SEPARATOR = re.compile(r"^---[ \t]*", re.M)


def split_helm(text: str) -> list[Piece]:
    """As Helm 3 and 4 split a template's output: leading whitespace dropped, pieces that
    are only whitespace skipped."""
    body = text.lstrip()
    offset = text.count("\n", 0, len(text) - len(body))
    pieces: list[Piece] = []
    cut = 0
    for m in _HELM_SEPARATOR.finditer(body):
        _add(pieces, body, offset, cut, m.start())
        cut = m.end()
    _add(pieces, body, offset, cut, len(body))
    return pieces


def _add(pieces: list[Piece], text: str, offset: int, begin: int, end: int) -> None:
    chunk = text[begin:end]
    doc = chunk.lstrip()
    if doc:
        skipped = len(chunk) - len(doc)
        pieces.append(Piece(doc, offset + text.count("\n", 0, begin + skipped)))


def split_kubectl(text: str) -> list[Piece]:
    """As ``kubectl apply -f`` splits a file. A document after an invalid separator is
    that error alone (kubectl stops there; its lines are not read as a document)."""
    pieces: list[Piece] = []
    lines: list[str] = []
    first, broken = 0, False

    def flush() -> None:
        if not broken and "".join(lines).strip():
            pieces.append(Piece("".join(lines), first))

    # Lines end at "\n" only, as Go's reader reads them (not at "\r" or "\f").
    for number, line in enumerate(re.findall(r"[^\n]*\n|[^\n]+$", text)):
        if not line.startswith("---"):
            lines.append(line)
            continue
        flush()
        rest = line[3:].strip()
        lines, first, broken = [], number + 1, bool(rest) and not rest.startswith("#")
        if broken:
            pieces.append(Piece("", number, f"invalid YAML document separator: '---' "
                                f"followed by {rest[:40]!r} (kubectl refuses it)"))
    flush()
    return pieces
