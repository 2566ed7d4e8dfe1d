"""Parsed YAML in the persistent cache (:mod:`auditor.cache`), for :mod:`auditor.yamlfile`.

An entry is what a parse gave: each document's data, first line and path -> line map, or
the error with its line. Only what JSON gives back exactly is kept: string keys, finite
numbers, no dates or bytes (a YAML 1.1 timestamp, ``!!binary``); anything else is parsed
again each run rather than read back changed. Small texts are not worth a file.
"""

from __future__ import annotations

import json
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
        return _decode(data)
    except (KeyError, TypeError, ValueError):
        return None


def _decode(data: Any) -> list[Parsed]:
    return [(d["data"], int(d["line"]), {tuple(k): int(v) for k, v in d["lines"]})
            for d in data["docs"]]


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
    text = cache.dumps({"error": None, "docs": [
        {"data": data, "line": line, "lines": [[list(k), v] for k, v in lines.items()]}
        for data, line, lines in docs]})
    # Kept only if it reads back as it is (no key that is not a string, no tuple): the data
    # by a round trip and a compare, both in C; the paths (strings and indexes) here.
    if text is None or not all(type(part) in (str, int) for _, _, lines in docs
                               for path in lines for part in path):
        return
    try:
        back = json.loads(text)["docs"]
    except (ValueError, RecursionError):
        return
    if all(b["data"] == d[0] for b, d in zip(back, docs, strict=True)):
        store.put_text(KIND, entry, text)
