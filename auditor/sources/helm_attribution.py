"""Which line a rendered field came from: the values key that set it (matched by value and
key names), else the template line that writes it.

A rendered object is walked once; each field is looked up in the values by value and
searched in its template key by key, below the line its parent was found on. Both lookups
go through indexes built once (per environment's values, per template), so a template of
tens of thousands of lines (CustomResourceDefinitions) costs time in proportion to its size.
"""

from __future__ import annotations

import json
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from json.encoder import encode_basestring_ascii
from typing import Any, NamedTuple

from auditor import paths
from auditor.models import Location
from auditor.sources.helm_values import Values


class Attribution:
    """Maps rendered fields to the values keys that produced them."""

    def __init__(self, values: Values) -> None:
        self._index: dict[str, list[paths.Path]] = {}
        self._where = values.where
        self._add(values.data, ())
        # A scalar (or a one-key structure) scores only with a values path of its own last
        # key (_score's suffix, see _match): its candidates by value and that key.
        self._keyed: dict[tuple[str, str], list[paths.Path]] = {}
        for canon, vpaths in self._index.items():
            for vpath in vpaths:
                if (last := _last_key(vpath)) is not None:
                    self._keyed.setdefault((canon, last), []).append(vpath)
        # A dict or list can only equal an indexed JSON text of its own shape: measuring a
        # subtree is linear, serialising every subtree at every level was not.
        self._shapes: set[tuple[bool, int, int]] = set()  # (is a dict, len, JSON length)
        for canon in self._index:
            if canon[:1] in ("{", "["):  # a structure, or a values string that reads as one
                try:
                    parsed = json.loads(canon)
                except (ValueError, RecursionError):
                    continue
                if isinstance(parsed, dict | list):
                    self._shapes.add((isinstance(parsed, dict), len(parsed), len(canon)))
        self._sized = {shape[:2] for shape in self._shapes}  # measured only when one fits
        self._sizes: dict[int, int] = {}  # id of a rendered dict/list -> its JSON length
        self._lines: _Lines | None = None  # a template renders several objects: reused

    def _add(self, node: Any, path: paths.Path) -> None:
        if path and path in self._where:
            self._index.setdefault(_canon(node), []).append(path)
        if isinstance(node, dict):
            for k, v in node.items():
                self._add(v, (*path, k))
        elif isinstance(node, list):
            for i, v in enumerate(node):
                self._add(v, (*path, i))

    def locate(self, body: Any, shown: str, template: str, start: int = 0
               ) -> dict[paths.Path, Location]:
        """``start``: the 0-based template line the object's document starts on, when it
        is known (the object is the n-th document of a template that writes n)."""
        out: dict[paths.Path, Location] = {}
        if self._lines is None or self._lines.shown != shown or self._lines.text != template:
            self._lines = _Lines(shown, template)
        self._sizes = {}  # ids are only this body's while it is walked
        self._walk(body, (), self._lines, _Cursor(start + 1 if start else 0, start, True), out)
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
        if isinstance(node, dict | list):
            shape = (isinstance(node, dict), len(node))
            if shape not in self._sized or (*shape, self._json_len(node)) not in self._shapes:
                return None
            canon = _canon(node)
        else:
            canon = str(node)
        if structured:
            candidates = self._index.get(canon, [])
        else:  # only values paths with the same last key can score (the check below)
            last = _last_key(path)
            candidates = self._keyed.get((canon, last), []) if last is not None else []
        best, score, tied = None, (0, -1), False
        for vpath in candidates:
            s = _score(path, vpath)
            if not (s[0] or structured):
                continue
            if s > score:
                best, score, tied = vpath, s, False
            elif s == score and best is not None and self._where[vpath] != self._where[best]:
                tied = True
        # Two keys explain the field equally well: the template is honest, a guess is not.
        return self._where[best] if best is not None and not tied else None

    def _json_len(self, node: Any) -> int:
        """``len(_canon(node))`` without building the text; each subtree measured once."""
        if isinstance(node, str):
            return len(encode_basestring_ascii(node))
        if not isinstance(node, dict | list):
            return len(json.dumps(node, default=str))
        size = self._sizes.get(id(node))
        if size is None:
            if isinstance(node, dict):  # '{"k": v, ...}'; JSON keys are strings
                parts = [len(encode_basestring_ascii(k if isinstance(k, str) else json.dumps(k)))
                         + 2 + self._json_len(v) for k, v in node.items()]
            else:
                parts = [self._json_len(v) for v in node]
            size = self._sizes[id(node)] = 2 + sum(parts) + 2 * max(len(parts) - 1, 0)
        return size


def _canon(node: Any) -> str:
    if isinstance(node, dict | list):
        return json.dumps(node, sort_keys=True, default=str)
    return str(node)  # templates often quote numbers: "8000" was 8000 in the values


def _last_key(path: paths.Path) -> str | None:
    """The last key name of a path (lowercase): what _score's key suffix starts from."""
    for key in reversed(path):
        if isinstance(key, str):
            return key.lower()
    return None


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


class _Key:
    """The lines that start with one key (``key:`` past indentation and dashes) and, split
    off when first asked, the longer keys that go on past its colon: ``a: b: c`` starts
    with key ``a`` and key ``a: b``. Each line is split at most once per colon."""

    __slots__ = ("_longer", "colon", "lines")

    def __init__(self, colon: int) -> None:
        self.colon = colon  # where the key's colon is, in each of its lines
        self.lines: list[int] = []
        self._longer: dict[str, _Key] | None = None

    def longer(self, texts: list[str]) -> dict[str, _Key]:
        if self._longer is None:
            self._longer = {}
            for i in self.lines:
                colon = texts[i].find(":", self.colon + 1)
                if colon >= 0:
                    part = texts[i][self.colon + 1:colon]
                    key = self._longer.get(part)
                    if key is None:
                        key = self._longer[part] = _Key(colon)
                    key.lines.append(i)
        return self._longer


class _List(NamedTuple):
    items: list[int]  # the lines that start the list's items
    columns: list[int]  # where each item's own keys start
    distinct: set[int]  # those columns (one, unless the items' dashes differ)


class _Lines:
    """A template's lines, searched key by key as the rendered object is walked: each child
    is looked for after its parent's line, so ``containers[1].resources`` is not taken for
    the first container's, nor ``containers[0].name`` for ``metadata.name``."""

    def __init__(self, shown: str, text: str) -> None:
        self.shown, self.text = shown, text
        self.lines = text.splitlines()
        self._texts = [line.lstrip(" -") for line in self.lines]
        self._keys: dict[str, _Key] = {}  # a line's key up to its first colon
        self._named: dict[tuple[int, str], list[int]] = {}  # (column, NAME): name: NAME lines
        for i, stripped in enumerate(self._texts):
            key, colon, value = stripped.partition(":")
            if not colon:
                continue
            entry = self._keys.get(key)
            if entry is None:
                entry = self._keys[key] = _Key(len(key))
            entry.lines.append(i)
            if key.strip() == "name":  # the value plain or quoted
                at = (len(self.lines[i]) - len(stripped), value.strip().strip("'\""))
                self._named.setdefault(at, []).append(i)
        self._lists: dict[int, _List] = {}  # a list's first line -> its items

    def location(self, at: _Cursor, nested: bool) -> Location:
        line = at.line or 1
        literal = nested and at.complete and at.line > 0 and "{{" not in self.lines[line - 1]
        return Location(self.shown, line, literal=literal)

    def key(self, at: _Cursor, key: str) -> _Cursor:
        if not at.complete:
            return at
        lines = self._starting(key)
        n = bisect_left(lines, at.start)  # the first line at or after the search's start
        return _Cursor(lines[n] + 1, lines[n] + 1, True) if n < len(lines) else (
            _Cursor(at.line, at.start, False))

    def _starting(self, key: str) -> list[int]:
        """The lines whose text (past indentation and dashes) starts with ``key:``."""
        first, *rest = key.split(":")
        entry = self._keys.get(first)
        for part in rest:
            if entry is None:
                break
            entry = entry.longer(self._texts).get(part)
        return entry.lines if entry is not None else []

    def item(self, at: _Cursor, index: int, node: Any, count: int) -> _Cursor:
        """The list item ``index``: the one whose ``name:`` is the rendered item's name, else
        the index-th written item when the template writes exactly as many (no loop or
        branch makes the count differ); else not found (the list's own line stays)."""
        if not at.complete:
            return at
        if at.start not in self._lists:  # each item of a list asks for the same scan
            items = self._items(at.start)
            columns = [self._column(i) for i in items]
            self._lists[at.start] = _List(items, columns, set(columns))
        items = self._lists[at.start].items
        name = node.get("name") if isinstance(node, dict) else None
        if isinstance(name, str) and name and (n := self._named_item(at.start, name)) is not None:
            return _Cursor(items[n] + 1, items[n], True)
        if len(items) == count:
            return _Cursor(items[index] + 1, items[index], True)
        # One written item in a `range` writes every rendered one; one that names itself
        # literally writes only that one (the others come from an `include`).
        if len(items) == 1 and self._literal_name(at.start) in (None, name):
            return _Cursor(items[0] + 1, items[0], True)
        return _Cursor(at.line, at.start, False)

    def _literal_name(self, start: int) -> str | None:
        """The ``name:`` the list's first item writes as plain text, None when the template
        makes it (or the item has none) before the item ends."""
        first, column = self._lists[start].items[0], self._lists[start].columns[0]
        for i in range(first, len(self.lines)):
            text = self._texts[i]
            if not text or text.startswith(("{{", "#")):
                continue
            if i > first and self._column(i) < column:
                return None  # past the item
            if self._column(i) == column and text.startswith("name:"):
                value = _plain(text.partition(":")[2])
                return None if "{{" in value else value
        return None

    def _named_item(self, start: int, name: str) -> int | None:
        """The first item with a ``name: NAME`` line at its own keys' column, from its first
        line to the next item's (the last item's: to the template's end)."""
        items, columns, distinct = self._lists[start]
        best = None
        for column in distinct:  # per column its first line decides, bar mixed columns
            lines = self._named.get((column, name), [])
            for k in range(bisect_left(lines, items[0]), len(lines)):
                n = bisect_right(items, lines[k]) - 1  # the item that line is in
                if columns[n] == column:  # else not that item's own key: look further
                    best = n if best is None else min(best, n)
                    break
        return best

    def _column(self, i: int) -> int:
        """Where line ``i``'s key starts (past indentation and list dashes)."""
        return len(self.lines[i]) - len(self._texts[i])

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


def _plain(value: str) -> str:
    """A YAML scalar as written on one line: quoted, or plain up to a comment."""
    value = value.strip()
    if value[:1] in ("'", '"') and value[0] in value[1:]:
        return value[1:value.index(value[0], 1)]
    return value.split(" #", 1)[0].rstrip()
