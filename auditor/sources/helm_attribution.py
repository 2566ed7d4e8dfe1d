"""Which line a rendered field came from: the values key that set it (matched by value and
key names), else the template line that writes it.

A rendered object is walked once; each field is looked up in the values by value and
searched in its template key by key, below the line its parent was found on.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from auditor import paths
from auditor.models import Location
from auditor.sources.helm_values import Values


class Attribution:
    """Maps rendered fields to the values keys that produced them."""

    def __init__(self, values: Values) -> None:
        self._index: dict[str, list[paths.Path]] = {}
        self._where = values.where
        self._add(values.data, ())

    def _add(self, node: Any, path: paths.Path) -> None:
        if path and path in self._where:
            self._index.setdefault(_canon(node), []).append(path)
        if isinstance(node, dict):
            for k, v in node.items():
                self._add(v, (*path, k))
        elif isinstance(node, list):
            for i, v in enumerate(node):
                self._add(v, (*path, i))

    def locate(self, body: Any, shown: str, template: str) -> dict[paths.Path, Location]:
        out: dict[paths.Path, Location] = {}
        self._walk(body, (), _Lines(shown, template.splitlines()), _Cursor(0, 0, True), out)
        return out

    def _walk(self, node: Any, path: paths.Path, lines: _Lines, at: _Cursor,
              out: dict[paths.Path, Location]) -> None:
        found = self._match(node, path)
        out[path] = found or lines.location(at, bool(path))
        if isinstance(node, dict):
            for k, v in node.items():
                self._walk(v, (*path, k), lines, lines.key(at, str(k)), out)
        elif isinstance(node, list):
            for i, v in enumerate(node):
                self._walk(v, (*path, i), lines, lines.item(at, i, v, len(node)), out)

    def _match(self, node: Any, path: paths.Path) -> Location | None:
        if node is None or (node in ("", {}, []) and not isinstance(node, bool)):
            return None  # too common to say which key produced it
        # (true/false are common too, but the key-suffix match below still tells them apart)
        # Equal non-trivial structures (a sidecar rendered with toYaml) need no key match.
        structured = isinstance(node, dict | list) and len(node) >= 2
        best, score, tied = None, (0, -1), False
        for vpath in self._index.get(_canon(node), []):
            s = _score(path, vpath)
            if not (s[0] or structured):
                continue
            if s > score:
                best, score, tied = vpath, s, False
            elif s == score and best is not None and self._where[vpath] != self._where[best]:
                tied = True
        # Two keys explain the field equally well: the template is honest, a guess is not.
        return self._where[best] if best is not None and not tied else None


def _canon(node: Any) -> str:
    if isinstance(node, dict | list):
        return json.dumps(node, sort_keys=True, default=str)
    return str(node)  # templates often quote numbers: "8000" was 8000 in the values


def _score(rendered: paths.Path, values: paths.Path) -> tuple[int, int]:
    """(common key suffix, keys that name each other: readinessProbe ~ probes.readiness)."""
    ka = [k.lower() for k in rendered if isinstance(k, str)]
    kb = [k.lower() for k in values if isinstance(k, str)]
    n = 0
    while n < min(len(ka), len(kb)) and ka[-1 - n] == kb[-1 - n]:
        n += 1
    related = sum(1 for a in ka if any(a in b or b in a for b in kb))
    return n, related


@dataclass(frozen=True)
class _Cursor:
    """Where a rendered field's key was found in its template: the 1-based line (0: not
    found), where its children's search starts, and whether every key above was found."""

    line: int
    start: int
    complete: bool


class _Lines:
    """A template's lines, searched key by key as the rendered object is walked: each child
    is looked for after its parent's line, so ``containers[1].resources`` is not taken for
    the first container's, nor ``containers[0].name`` for ``metadata.name``."""

    def __init__(self, shown: str, lines: list[str]) -> None:
        self.shown, self.lines = shown, lines
        self._lists: dict[int, list[int]] = {}  # a list's first line -> its items' lines

    def location(self, at: _Cursor, nested: bool) -> Location:
        line = at.line or 1
        literal = nested and at.complete and at.line > 0 and "{{" not in self.lines[line - 1]
        return Location(self.shown, line, literal=literal)

    def key(self, at: _Cursor, key: str) -> _Cursor:
        if not at.complete:
            return at
        hit = next((i for i in range(at.start, len(self.lines))
                    if self.lines[i].lstrip(" -").startswith(f"{key}:")), None)
        return _Cursor(hit + 1, hit + 1, True) if hit is not None else (
            _Cursor(at.line, at.start, False))

    def item(self, at: _Cursor, index: int, node: Any, count: int) -> _Cursor:
        """The list item ``index``: the one whose ``name:`` is the rendered item's name, else
        the index-th written item when the template writes exactly as many (no loop or
        branch makes the count differ); else not found (the list's own line stays)."""
        if not at.complete:
            return at
        if at.start not in self._lists:  # each item of a list asks for the same scan
            self._lists[at.start] = self._items(at.start)
        items = self._lists[at.start]
        name = node.get("name") if isinstance(node, dict) else None
        if isinstance(name, str) and name:
            for n, first in enumerate(items):
                last = items[n + 1] if n + 1 < len(items) else len(self.lines)
                column = self._column(first)  # the item's own keys, not its children's
                if any(self._names(i, name) for i in range(first, last)
                       if self._column(i) == column):
                    return _Cursor(first + 1, first, True)
        if len(items) == count:
            return _Cursor(items[index] + 1, items[index], True)
        if len(items) == 1:  # one written item in a `range`: it writes every rendered one
            return _Cursor(items[0] + 1, items[0], True)
        return _Cursor(at.line, at.start, False)

    def _column(self, i: int) -> int:
        """Where line ``i``'s key starts (past indentation and list dashes)."""
        return len(self.lines[i]) - len(self.lines[i].lstrip(" -"))

    def _names(self, i: int, name: str) -> bool:
        """Whether line ``i`` is ``name: NAME``, the value plain or quoted."""
        key, colon, value = self.lines[i].lstrip(" -").partition(":")
        return bool(colon) and key.strip() == "name" and value.strip().strip("'\"") == name

    def _items(self, start: int) -> list[int]:
        """Indexes of the lines that start the list's items (``- ...`` at its indent)."""
        out: list[int] = []
        indent = None
        for i in range(start, len(self.lines)):
            text = self.lines[i]
            stripped = text.lstrip(" ")
            if not stripped or stripped.startswith(("{{", "#")):
                continue  # template actions and comments are not the list's end
            depth = len(text) - len(stripped)
            if indent is None:
                if not stripped.startswith("- "):
                    return out
                indent = depth
            if depth < indent or (depth == indent and not stripped.startswith("- ")):
                break
            if depth == indent:
                out.append(i)
        return out
