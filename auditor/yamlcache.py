"""Parsed YAML in the persistent cache (:mod:`auditor.cache`), for :mod:`auditor.yamlfile`.

An entry is what a parse gave: each document's data, first line and path -> line map, or
the error with its line. Only what JSON gives back exactly is kept: string keys, finite
numbers, no dates or bytes (a YAML 1.1 timestamp, ``!!binary``); anything else is parsed
again each run rather than read back changed. Small texts are not worth a file.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any

from auditor import cache

MIN_CHARS = 2048  # below this, parsing costs about what reading an entry does
KIND = "yaml"

Parsed = tuple[Any, int, dict[tuple[str | int, ...], int]]  # data, line, lines


def key(text: str, *how: str) -> str | None:
    """The entry of ``text`` read in a way (dialect, strictness, ...); None: not cached."""
    if len(text) < MIN_CHARS or cache.store() is None:
        return None
    return cache.key(KIND, _pyyaml(), *how, text, cache.code_version(
        "auditor.yamlfile", "auditor.yamlgo", "auditor.yamlcty", __name__))


@lru_cache(maxsize=1)
def _pyyaml() -> str:
    import yaml

    return f"PyYAML {yaml.__version__} libyaml {getattr(yaml, '__with_libyaml__', False)}"


def get(entry: str) -> list[Parsed] | tuple[str, int | None, tuple[str | int, ...] | None] \
        | None:
    """The documents, or an error's (message, line, path), or None (absent, or not of the
    shape written: rebuilt)."""
    store = cache.store()
    data = store.get(KIND, entry) if store else None
    try:
        if data is None:
            return None
        if data["error"] is not None:
            message, line, path = data["error"]
            return (str(message), None if line is None else int(line),
                    None if path is None else tuple(path))
        return [(d["data"], int(d["line"]), {tuple(k): int(v) for k, v in d["lines"]})
                for d in data["docs"]]
    except (KeyError, TypeError, ValueError):
        return None


def put(entry: str, docs: list[Parsed] | None = None,
        error: tuple[str, int | None, tuple[str | int, ...] | None] | None = None) -> None:
    store = cache.store()
    if store is None:
        return
    if error is not None:
        message, line, path = error
        store.put(KIND, entry, {"docs": None, "error": [message, line,
                                                        None if path is None else list(path)]})
        return
    assert docs is not None
    if not all(_exact(data) and all(type(part) in (str, int) for path in lines for part in path)
               for data, _, lines in docs):
        return
    store.put(KIND, entry, {"error": None, "docs": [
        {"data": data, "line": line, "lines": [[list(k), v] for k, v in lines.items()]}
        for data, line, lines in docs]})


def _exact(value: Any) -> bool:
    """Whether JSON gives ``value`` back as it is (walked without recursion: documents
    may be deep)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if not all(type(k) is str for k in item):
                return False
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, float):
            if not math.isfinite(item):
                return False
        elif not (item is None or type(item) in (str, int, bool)):
            return False
    return True
