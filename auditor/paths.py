"""Paths into nested data: ``spec.containers[0].resources.limits.memory``.

Every source records where each value came from under these paths, and policies name the
values they read with them, so one small module owns their syntax.
"""

from __future__ import annotations

import re
from typing import Any, Final

PathKey = str | int
Path = tuple[PathKey, ...]


class _Missing:
    """The absence of a value (distinct from an explicit ``null``)."""

    _instance: _Missing | None = None

    def __new__(cls) -> _Missing:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


MISSING: Final = _Missing()

_TOKEN = re.compile(r"\[(\d+)\]|\[\"([^\"]*)\"\]|\.?([^.\[\]]+)")


def parse(text: str) -> Path:
    """``a.b[0].c`` -> ``("a", "b", 0, "c")``; ``a["x.y"]`` keeps dots inside brackets."""
    if not text:
        return ()
    out: list[PathKey] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise ValueError(f"invalid path {text!r} at {pos}")
        index, quoted, name = m.groups()
        out.append(int(index) if index is not None else quoted if quoted is not None else name)
        pos = m.end()
    return tuple(out)


def format(path: Path) -> str:
    parts: list[str] = []
    for key in path:
        if isinstance(key, int):
            parts.append(f"[{key}]")
        elif not key or any(c in key for c in ".[]"):
            parts.append(f'["{key}"]')
        else:
            parts.append(f".{key}" if parts else key)
    return "".join(parts)


def get(data: Any, path: Path) -> Any:
    """The value at ``path``, or :data:`MISSING` where any step is absent."""
    cur = data
    for key in path:
        if isinstance(key, int):
            if not isinstance(cur, list) or key >= len(cur):
                return MISSING
        elif not isinstance(cur, dict) or key not in cur:
            return MISSING
        cur = cur[key]
    return cur


def leaves(data: Any, prefix: Path = ()) -> list[tuple[Path, Any]]:
    """Every scalar (and empty container) under ``data`` with its path."""
    if isinstance(data, dict) and data:
        out: list[tuple[Path, Any]] = []
        for k, v in data.items():
            out.extend(leaves(v, (*prefix, str(k))))
        return out
    if isinstance(data, list) and data:
        out = []
        for i, v in enumerate(data):
            out.extend(leaves(v, (*prefix, i)))
        return out
    return [(prefix, data)]
