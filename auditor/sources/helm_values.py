"""Helm values: merge the chart's defaults, the values files and ``set`` the way Helm
does, remembering for every key the file and line that set it last.

That provenance is what lets a finding on a rendered field point at the values line a
developer edits rather than at the template.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from typing import Any

from auditor import paths
from auditor.models import Location
from auditor.paths import Path, PathKey


@dataclass
class Values:
    """The chart's defaults and the user's values, kept apart as Helm keeps them."""

    defaults: dict[str, Any] = field(default_factory=dict)  # the chart's values.yaml
    user: dict[str, Any] = field(default_factory=dict)  # -f files then set, nulls kept
    where: dict[Path, Location] = field(default_factory=dict)  # last setter of each key

    @property
    def data(self) -> dict[str, Any]:
        """The values templates see: user values coalesced over the chart's defaults."""
        return merge(self.defaults, self.user)

    def apply_defaults(self, data: dict[str, Any], lines: dict[Path, int], file: str) -> None:
        self.defaults = data
        self._located(lines, file)

    def apply(self, data: dict[str, Any], lines: dict[Path, int], file: str) -> None:
        self.user = merge(self.user, data, keep_nulls=True)
        self._located(lines, file)

    def apply_set(self, sets: dict[str, Any], file: str, line_of: dict[str, int | None]
                  ) -> None:
        for key, value in sets.items():
            path = parse_set_key(key)
            self.user = set_in(self.user, path, value)
            for end in range(1, len(path) + 1):
                self.where[path[:end]] = Location(file, line_of.get(key),
                                                  paths.format(path[:end]))

    def _located(self, lines: dict[Path, int], file: str) -> None:
        for path, line in lines.items():
            if path:
                self.where[path] = Location(file, line, paths.format(path))


def merge(base: dict[str, Any], override: dict[str, Any], keep_nulls: bool = False
          ) -> dict[str, Any]:
    """Maps merge key by key and anything else replaces. Coalescing over the chart's
    defaults deletes a key set to null; merging user files keeps the null, so it still
    deletes the default when Helm coalesces (a null must survive a later -f file)."""
    out = copy.deepcopy(base)
    for key, value in override.items():
        if value is None and not keep_nulls:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value, keep_nulls)
        else:
            out[key] = copy.deepcopy(value)
    return out


MAX_INDEX = 65536
_SEGMENT = re.compile(r"((?:[^.\[\\]|\\.)+)((?:\[\d+\])*)")


def parse_set_key(key: str) -> Path:
    """``a.b\\.c[0].d`` -> ("a", "b.c", 0, "d"), as ``helm --set`` reads keys."""
    out: list[PathKey] = []
    pos = 0
    while pos < len(key):
        m = _SEGMENT.match(key, pos)
        if not m:
            raise ValueError(f"invalid --set key {key!r}")
        out.append(re.sub(r"\\(.)", r"\1", m.group(1)))
        for index in (int(i) for i in re.findall(r"\[(\d+)\]", m.group(2))):
            if index > MAX_INDEX:  # Helm's own cap: a huge index would fill memory
                raise ValueError(f"list index {index} in --set key {key!r} is above {MAX_INDEX}")
            out.append(index)
        pos = m.end() + (1 if m.end() < len(key) and key[m.end()] == "." else 0)
    return tuple(out)


def set_in(tree: dict[str, Any], path: Path, value: Any) -> dict[str, Any]:
    """``--set a.b[1]=x`` as Helm applies it: into the existing values, a list index
    setting one element (the list grows with nulls), not replacing the list."""
    out = copy.deepcopy(tree)
    node: Any = out
    for key, nxt in zip(path, [*path[1:], None], strict=True):
        last = nxt is None
        if isinstance(key, int):
            if not isinstance(node, list):
                raise ValueError(f"--set index [{key}] on a value that is not a list")
            node.extend([None] * (key + 1 - len(node)))
            if last:
                node[key] = value
            elif not isinstance(node[key], dict | list):
                node[key] = [] if isinstance(nxt, int) else {}
            node = node[key]
        else:
            if last:
                node[key] = value
            elif not isinstance(node.get(key), dict | list):
                node[key] = [] if isinstance(nxt, int) else {}
            node = node[key]
    return out
